using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Telemetry.Tests;

/// <summary>The enricher without <c>EnableEnrichment()</c> would leave records without ids: a Warning says so at startup.</summary>
public sealed class EnrichmentCheckTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_missing_EnableEnrichment_is_warned_about_at_startup(bool enabled)
    {
        await using var app = await TestApp.StartAsync(
            app => app.UseRequestContext(),
            builder =>
            {
                if (enabled)
                {
                    builder.Logging.EnableEnrichment();
                }

                builder.Services.AddRequestContextLogEnricher();
            });

        var warnings = app.Logs.Records.Where(record => record.EventId.Name == "EnrichmentNotEnabled").ToList();
        Assert.Equal(enabled ? 0 : 1, warnings.Count);
        Assert.All(warnings, warning => Assert.Equal(LogLevel.Warning, warning.Level));
    }
}
