using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Compliance.Classification;
using Microsoft.Extensions.Compliance.Redaction;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;

namespace ContextMiddleware.Telemetry.Tests;

/// <summary>
/// Microsoft.Extensions.Telemetry's enrichment (<c>EnableEnrichment()</c>) with <c>AddRequestContextLogEnricher()</c>:
/// the real JSON console output and OpenTelemetry's batch export carry each request's ids, user, properties and chosen
/// ContextVars; with redaction on, the user is redacted.
/// </summary>
public sealed class LogEnricherTests
{
    private static readonly ContextVar<string?> Region = new("region", null);

    private static Task<TestApp> StartAsync(Action<WebApplicationBuilder> configure) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/orders/{id:int}", async (int id, ILogger<LogEnricherTests> logger) =>
                {
                    Region.Set($"region-{id % 2}");
                    await Task.Run(() => RequestContext.Properties.Set("tenant", $"tenant-{id}"));
                    logger.LogInformation("Order {Order}", id);
                    return RequestContext.Trace.Get()!.TraceId;
                });
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                builder.Logging.EnableEnrichment();
                builder.Services.AddRequestContextLogEnricher(options => options.Add(Region, "region"));
                configure(builder);
            },
            kestrel: true);

    private static async Task<string[]> SendAsync(TestApp app, int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/orders/{i}");
            request.Headers.Add("X-Request-ID", $"req-{i}");
            request.Headers.Authorization = new("Bearer", Jwt.CreateToken($"user-{i}", $"User {i}"));
            return await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync();
        }));

    [Fact]
    public async Task The_json_console_shows_each_requests_ids_user_properties_and_ContextVars()
    {
        await using var app = await StartAsync(builder => JsonConsoleCapture.AddTo(builder.Logging));
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();

        var traces = await SendAsync(app, 50);

        var mismatches = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            var order = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var e = console.Events.Single(e => e.GetProperty("Category").GetString() == typeof(LogEnricherTests).FullName &&
                e.GetProperty("State").GetProperty("Order").ToString() == order);
            var state = e.GetProperty("State");
            string?[] shown = [Value(state, "RequestId"), Value(state, "TraceId"), Value(state, "UserId"), Value(state, "UserName"), Value(state, "tenant"), Value(state, "region")];
            string?[] expected = [$"req-{i}", traces[i].Trim('"'), $"user-{i}", $"User {i}", $"tenant-{i}", $"region-{i % 2}"];
            // The request scope is off: the values are in the state once, never repeated in a scope.
            if (!shown.SequenceEqual(expected) || JsonConsoleCapture.ScopeValues(e, "UserId").Count != 0 || JsonConsoleCapture.ScopeValues(e, "tenant").Count != 0)
            {
                mismatches.Add(e.ToString());
            }
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task With_redaction_on_the_user_id_and_name_are_redacted()
    {
        await using var app = await StartAsync(builder =>
        {
            JsonConsoleCapture.AddTo(builder.Logging);
            builder.Services.AddRedaction(redaction => redaction.SetRedactor<ErasingRedactor>(
                new DataClassificationSet(new DataClassification(RequestContextLogEnricherOptions.TaxonomyName, "UserId")),
                new DataClassificationSet(new DataClassification(RequestContextLogEnricherOptions.TaxonomyName, "UserName"))));
            builder.Logging.EnableRedaction();
        });
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();

        await SendAsync(app, 1);

        var e = console.Events.Single(e => e.GetProperty("Category").GetString() == typeof(LogEnricherTests).FullName);
        var state = e.GetProperty("State");
        Assert.Equal("req-0", Value(state, "RequestId"));
        Assert.Equal(string.Empty, Value(state, "UserId"));
        Assert.Equal(string.Empty, Value(state, "UserName"));
        Assert.DoesNotContain("user-0", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenTelemetry_batch_export_gets_each_records_own_values()
    {
        var exporter = new SnapshotExporter();
        await using (var app = await StartAsync(builder => builder.Logging.AddOpenTelemetry(otel =>
            otel.AddProcessor(new BatchLogRecordExportProcessor(exporter, scheduledDelayMilliseconds: 100)))))
        {
            await SendAsync(app, 20);
        }

        var records = exporter.Records.Where(record => record.Category == typeof(LogEnricherTests).FullName).ToList();
        Assert.Equal(20, records.Count);
        Assert.All(records, record =>
        {
            var attributes = record.Attributes;
            var order = attributes["Order"];
            Assert.Equal($"req-{order}", attributes["RequestId"]);
            Assert.Equal($"tenant-{order}", attributes["tenant"]);
            Assert.Equal($"user-{order}", attributes["UserId"]);
        });
    }

    /// <summary>The batch exporter's records as they were exported (the SDK reuses its LogRecord objects).</summary>
    private sealed class SnapshotExporter : BaseExporter<OpenTelemetry.Logs.LogRecord>
    {
        public List<(string? Category, Dictionary<string, string?> Attributes)> Records { get; } = [];

        public override ExportResult Export(in Batch<OpenTelemetry.Logs.LogRecord> batch)
        {
            lock (Records)
            {
                foreach (var record in batch)
                {
                    Records.Add((record.CategoryName, (record.Attributes ?? []).ToDictionary(pair => pair.Key, pair => pair.Value?.ToString())));
                }
            }

            return ExportResult.Success;
        }
    }

    private static string? Value(JsonElement state, string name) => state.TryGetProperty(name, out var value) ? value.ToString() : null;
}
