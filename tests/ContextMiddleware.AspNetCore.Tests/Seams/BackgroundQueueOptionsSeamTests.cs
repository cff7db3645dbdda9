using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Review probe: the queue's options "bound from the RequestContext:BackgroundWorkQueue configuration section".</summary>
public class BackgroundQueueOptionsSeamTests
{
    [Fact]
    public void AddRequestContextBackgroundQueue_AsTheReadmeCallsIt_CapacityFromConfigurationIsUsed()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RequestContext:BackgroundWorkQueue:Capacity"] = "50",
                ["RequestContext:BackgroundWorkQueue:MaxConcurrency"] = "2",
            })
            .Build();
        using var provider = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddRequestContextBackgroundQueue() // the README's call
            .BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<BackgroundWorkQueueOptions>>().Value;

        Assert.Equal(2, options.MaxConcurrency);
        Assert.True(options.Capacity == 50, $"Capacity is {options.Capacity}: the overload's default argument (1000) overrides the configuration");
    }
}
