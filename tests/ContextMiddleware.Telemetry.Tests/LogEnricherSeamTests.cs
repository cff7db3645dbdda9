using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Logs;

namespace ContextMiddleware.Telemetry.Tests;

/// <summary>The review's seams of the log enricher: the app's LoggingScope choice, ContextVar values fixed when written.</summary>
public sealed class LogEnricherSeamTests
{
    private static readonly ContextVar<StringBuilder?> Cart = new("cart", null);

    [Fact]
    public async Task explicit_LoggingScope_true_is_kept()
    {
        await using var app = await TestApp.StartAsync(
            app => app.UseRequestContext(),
            builder =>
            {
                builder.Logging.EnableEnrichment();
                builder.Services.AddRequestContext(options => options.LoggingScope = true);
                builder.Services.AddRequestContextLogEnricher();
            });
        Assert.True(app.App.Services.GetRequiredService<IOptions<RequestContextOptions>>().Value.LoggingScope);
    }

    [Fact]
    public async Task ContextVar_values_are_fixed_when_written_for_batch_export()
    {
        var exported = new List<string?>();
        var exporter = new Exporter(exported);
        await using (var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/c", (ILogger<LogEnricherSeamTests> logger) =>
                {
                    var cart = new StringBuilder("written");
                    Cart.Set(cart);
                    logger.LogInformation("Cart");
                    cart.Append("-then-mutated");
                    return "ok";
                });
            },
            builder =>
            {
                builder.Logging.EnableEnrichment();
                builder.Services.AddRequestContextLogEnricher(options => options.Add(Cart, "cart"));
                builder.Logging.AddOpenTelemetry(otel => otel.AddProcessor(new BatchLogRecordExportProcessor(exporter, scheduledDelayMilliseconds: 100)));
            },
            kestrel: true))
        {
            await app.Client.GetStringAsync("/c");
        }

        Assert.Equal(["written"], exported);
    }

    private sealed class Exporter(List<string?> values) : BaseExporter<OpenTelemetry.Logs.LogRecord>
    {
        public override ExportResult Export(in Batch<OpenTelemetry.Logs.LogRecord> batch)
        {
            foreach (var record in batch)
            {
                if (record.CategoryName == typeof(LogEnricherSeamTests).FullName)
                {
                    lock (values)
                    {
                        values.Add((record.Attributes ?? []).FirstOrDefault(a => a.Key == "cart").Value?.ToString());
                    }
                }
            }

            return ExportResult.Success;
        }
    }
}
