using System.Collections.Concurrent;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OtelLogRecord = OpenTelemetry.Logs.LogRecord;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// OpenTelemetry logging with the batch processor exports records on its own thread, after the request may have
/// ended: the request scope each record carries must be the one of the request that wrote it, as of when it was
/// written, not whatever is ambient on the exporter's thread.
/// </summary>
public class ExporterSnapshotTests
{
    private const int Requests = 16;
    private const int EventsPerRequest = 3;

    [Fact]
    public async Task BatchExporter_ConcurrentRequests_EveryHandlerRecordCarriesItsOwnRequestsId()
    {
        // Arrange
        var exporter = new RequestIdExporter();
        var processor = new BatchLogRecordExportProcessor(exporter, maxQueueSize: 4096, scheduledDelayMilliseconds: 200, exporterTimeoutMilliseconds: 10_000, maxExportBatchSize: 64);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/work/{index:int}", async (int index, ILogger<ExporterSnapshotTests> logger) =>
                {
                    for (var step = 0; step < EventsPerRequest; step++)
                    {
                        logger.LogInformation("Step {Step} of request {Index}", step, index);
                        await Task.Delay(10);
                    }

                    return "ok";
                });
            },
            builder => builder.Logging.AddOpenTelemetry(options =>
            {
                options.IncludeScopes = true;
                options.AddProcessor(processor);
            }),
            kestrel: true);

        // Act: concurrent requests, each with its own id.
        await Task.WhenAll(Enumerable.Range(0, Requests).Select(async i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/work/{i}");
            request.Headers.Add("X-Request-ID", $"req-otel-{i}");
            (await app.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(20))).EnsureSuccessStatusCode();
        }));
        Assert.True(processor.ForceFlush(10_000), "the batch processor did not flush");

        // Assert
        var handlerRecords = exporter.Exported.Where(e => e.Index is not null).ToList();
        Assert.Equal(Requests * EventsPerRequest, handlerRecords.Count);
        var wrong = handlerRecords
            .Where(e => e.RequestIds.Count == 0 || e.RequestIds.Any(id => id != $"req-otel-{e.Index}"))
            .Select(e => $"request {e.Index}: RequestId=[{string.Join(", ", e.RequestIds)}]")
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {handlerRecords.Count} exported records do not carry only their own request's id; first: {string.Join(" || ", wrong.Take(5))}");
    }

    public sealed record Exported(string? Index, List<string?> RequestIds);

    /// <summary>Reads each record's scopes and attributes on the exporter's thread, as a real exporter does.</summary>
    private sealed class RequestIdExporter : BaseExporter<OtelLogRecord>
    {
        public ConcurrentQueue<Exported> Exported { get; } = new();

        public override ExportResult Export(in Batch<OtelLogRecord> batch)
        {
            foreach (var record in batch)
            {
                var ids = new List<string?>();
                string? index = null;
                foreach (var attribute in record.Attributes ?? [])
                {
                    if (attribute.Key == "RequestId")
                    {
                        ids.Add(attribute.Value?.ToString());
                    }
                    else if (attribute.Key == "Index")
                    {
                        index = attribute.Value?.ToString();
                    }
                }

                record.ForEachScope(
                    static (scope, found) =>
                    {
                        foreach (var item in scope)
                        {
                            if (item.Key == "RequestId")
                            {
                                found.Add(item.Value?.ToString());
                            }
                        }
                    },
                    ids);
                Exported.Enqueue(new Exported(index, ids));
            }

            return ExportResult.Success;
        }
    }
}
