using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace ContextMiddleware.Requests.Tests.Seams;

/// <summary>
/// Second review (issue 16) of the generated range validator of <see cref="RequestContextOptions"/>: the exact startup
/// message, the reload record, double registration.
/// </summary>
public class Issue16SecondReviewOptionsProbes(ITestOutputHelper output)
{
    [Theory]
    [InlineData("MaxRequestIdLength", "0", "RequestContext:MaxRequestIdLength must be between 1 and 1024; it is 0.")]
    [InlineData("Properties:MaxCount", "-1", "RequestContext:Properties:MaxCount must be between 0 and 1024; it is -1.")]
    [InlineData("Properties:MaxValueLength", "70000", "RequestContext:Properties:MaxValueLength must be between 1 and 65536; it is 70000.")]
    public void StartupFailure_IsExactlyTheOldMessage_Once(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"RequestContext:{key}"] = value }).Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging()
            .AddRequestContextCore().AddRequestContextCore().BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RequestContextOptions>>().Value);

        output.WriteLine("Failures: " + string.Join(" | ", failure.Failures));
        output.WriteLine("Message: " + failure.Message);
        Assert.Equal([expected], failure.Failures);
    }

    [Fact]
    public void Validators_AreRegisteredOnce_WhenAddRequestContextCoreIsCalledTwice()
    {
        var services = new ServiceCollection().AddLogging().AddRequestContextCore().AddRequestContextCore(o => o.MaxRequestIdLength = 64);

        var validators = services.Where(d => d.ServiceType == typeof(IValidateOptions<RequestContextOptions>)).Select(d => d.ImplementationType?.Name).ToList();

        output.WriteLine(string.Join(", ", validators));
        Assert.Equal(2, validators.Count);
    }

    [Fact]
    public void Reload_WithAnOutOfRangeMaxRequestIdLength_IsLoggedOnce_WithTheOldMessage()
    {
        var data = new Dictionary<string, string?> { ["RequestContext:TrustedNetworks:0"] = "10.0.0.0/8" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(data).Build();
        var records = new List<(string Name, string Message)>();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.AddProvider(new Capture(records)))
            .AddRequestContextCore().AddRequestContextCore().BuildServiceProvider();
        _ = provider.GetRequiredService<IOptions<RequestContextOptions>>().Value;
        var settings = provider.GetRequiredService<RequestContextSettings>();

        configuration["RequestContext:MaxRequestIdLength"] = "0";
        configuration.Reload();

        foreach (var record in records)
        {
            output.WriteLine($"{record.Name}: {record.Message}");
        }

        var invalid = Assert.Single(records, r => r.Name == "InvalidReload");
        const string Expected = "RequestContext:MaxRequestIdLength must be between 1 and 1024; it is 0.";
        Assert.Equal(1, Count(invalid.Message, Expected));
        Assert.Contains($"invalid: {Expected} Invalid entries", invalid.Message, StringComparison.Ordinal);
        Assert.Equal(128, settings.MaxRequestIdLength); // read only at startup, as before
    }

    private static int Count(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private sealed class Capture(List<(string Name, string Message)> records) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(records);

        public void Dispose()
        {
        }

        private sealed class Logger(List<(string Name, string Message)> records) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (records)
                {
                    records.Add((eventId.Name ?? "", formatter(state, exception)));
                }
            }
        }
    }
}
