using ContextMiddleware.AspNetCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Requests.Tests;

/// <summary>
/// The background queue's options, bound from "RequestContext:BackgroundWorkQueue" and checked by the validator the
/// options validation source generator writes: a bad value fails the start with a message that names the setting.
/// </summary>
public class BackgroundWorkQueueOptionsTests
{
    [Theory]
    [InlineData("Capacity", "0")]
    [InlineData("Capacity", "-5")]
    [InlineData("MaxConcurrency", "0")]
    [InlineData("ItemTimeout", "00:00:00")]
    [InlineData("ItemTimeout", "-00:00:05")]
    public void AValueOutOfRange_FailsTheStart_NamingTheSetting(string setting, string value)
    {
        using var provider = Build(new() { [$"RequestContext:BackgroundWorkQueue:{setting}"] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        var message = Assert.Single(failure.Failures);
        Assert.StartsWith($"RequestContext:BackgroundWorkQueue:{setting} must be", message, StringComparison.Ordinal);
        Assert.EndsWith($" It is {value}.", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-00:00:00.001")]
    [InlineData("00:00:00.001")]
    [InlineData("01:00:00")]
    public void AnItemTimeoutThatIsPositiveOrInfinite_IsAccepted(string value)
    {
        using var provider = Build(new() { ["RequestContext:BackgroundWorkQueue:ItemTimeout"] = value, ["RequestContext:BackgroundWorkQueue:Capacity"] = "1" });

        provider.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture), provider.GetRequiredService<IOptions<BackgroundWorkQueueOptions>>().Value.ItemTimeout);
    }

    [Fact]
    public void EveryFailure_IsReportedAtOnce()
    {
        using var provider = Build(new()
        {
            ["RequestContext:BackgroundWorkQueue:Capacity"] = "0",
            ["RequestContext:BackgroundWorkQueue:MaxConcurrency"] = "0",
            ["RequestContext:BackgroundWorkQueue:ItemTimeout"] = "00:00:00",
        });

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BackgroundWorkQueueOptions>>().Value);

        Assert.Equal(3, failure.Failures.Count());
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings) => new ServiceCollection()
        .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
        .AddLogging()
        .AddRequestContextBackgroundQueue()
        .BuildServiceProvider();
}
