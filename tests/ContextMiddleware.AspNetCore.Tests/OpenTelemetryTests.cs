using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Trace;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// OpenTelemetry (SDK, ASP.NET Core instrumentation, in-memory exporter) sees the same trace as RequestContext.Trace:
/// the exported server span and the log records carry its ids, whatever trace headers the caller sent.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class OpenTelemetryTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ParentId = "00f067aa0ba902b7";

    public static TheoryData<string, string?, string?, bool> Cases => new()
    {
        { "no headers", null, null, true },
        { "valid", $"00-{TraceId}-{ParentId}-01", "congo=t61rcWkgMzE", true },
        { "future version", $"cc-{TraceId}-{ParentId}-01-future", null, true },
        { "512+ character tracestate", $"00-{TraceId}-{ParentId}-01", string.Join(',', Enumerable.Range(0, 8).Select(i => $"k{i}=" + new string('x', 70))), true },
        { "invalid tracestate", $"00-{TraceId}-{ParentId}-01", "Upper=1", true },
        { "untrusted caller", $"00-{TraceId}-{ParentId}-01", "congo=t61rcWkgMzE", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ExportedServerSpanAndLogRecords_AgreeWithRequestContextTrace(string name, string? traceParent, string? traceState, bool trusted)
    {
        var spans = new List<Activity>();
        var logs = new ConcurrentQueue<(string Message, ActivityTraceId TraceId, ActivitySpanId SpanId, List<KeyValuePair<string, object?>> Scopes)>();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/order", (ILogger<OpenTelemetryTests> logger) =>
                {
                    logger.LogInformation("Handling the order");
                    var trace = RequestContext.Trace.Get()!;
                    return new[] { trace.TraceId, trace.SpanId, trace.ParentSpanId ?? string.Empty, trace.TraceState ?? string.Empty, RequestContext.RequestId.Get()! };
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.IncomingTraceContext = trusted ? RequestContextTrust.Trust : RequestContextTrust.Ignore);
                builder.Services.AddOpenTelemetry()
                    .WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddInMemoryExporter(spans))
                    .WithLogging(logging => logging.AddProcessor(new CaptureIds(logs)), options => options.IncludeScopes = true);
            },
            kestrel: true);

        var request = new HttpRequestMessage(HttpMethod.Get, "/order");
        if (traceParent is not null)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        }

        if (traceState is not null)
        {
            request.Headers.TryAddWithoutValidation("tracestate", traceState);
        }

        var ids = (await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<string[]>())!;
        var server = await WaitForServerSpanAsync(spans, ids[0]);

        Assert.True(server is not null, $"{name}: no exported server span has trace id {ids[0]}");
        Assert.Equal(ids[1], server.SpanId.ToHexString());
        Assert.Equal(ids[2], server.ParentSpanId == default ? string.Empty : server.ParentSpanId.ToHexString());
        Assert.Equal(ids[3], server.TraceStateString ?? string.Empty);
        Assert.Equal(trusted && traceParent is not null, ids[0] == TraceId);

        var handlerLog = Assert.Single(logs, log => log.Message == "Handling the order");
        Assert.Equal(ids[0], handlerLog.TraceId.ToHexString());
        Assert.Equal(ids[1], handlerLog.SpanId.ToHexString());

        // The request scope's RequestId reaches the log record (IncludeScopes); its trace ids equal the framework's
        // Activity scope's, so the request scope leaves them out.
        Assert.Contains(new KeyValuePair<string, object?>("RequestId", ids[4]), handlerLog.Scopes);
        Assert.Equal(ids[0], Assert.Single(handlerLog.Scopes, item => item.Key == "TraceId").Value);

        lock (spans)
        {
            // One exported server span for the request, and none in the trace an untrusted caller asked for.
            Assert.Single(spans, span => span.Kind == ActivityKind.Server && span.TraceId.ToHexString() == ids[0]);
            Assert.True(trusted || spans.All(span => span.TraceId.ToHexString() != TraceId));
        }
    }

    [Fact]
    public async Task BackgroundWorkItem_IsExportedAsAChildSpanOfItsRequest_WhenTheSourceIsAdded()
    {
        var spans = new List<Activity>();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/jobs", async (IBackgroundWorkQueue queue) =>
                {
                    await queue.QueueAsync(_ =>
                    {
                        ran.SetResult();
                        return Task.CompletedTask;
                    });
                    return RequestContext.Trace.Get()!.SpanId;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContextBackgroundQueue();
                builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing
                    .AddAspNetCoreInstrumentation()
                    .AddSource("ContextMiddleware.AspNetCore")
                    .AddInMemoryExporter(spans));
            },
            kestrel: true);

        var requestSpanId = await (await app.Client.PostAsync("/jobs", null)).Content.ReadAsStringAsync();
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var server = await WaitForServerSpanAsync(spans, traceId: null);
        Activity? job = null;
        for (var attempt = 0; attempt < 100 && job is null; attempt++)
        {
            lock (spans)
            {
                job = spans.FirstOrDefault(span => span.OperationName == "ContextMiddleware.AspNetCore.BackgroundWork");
            }

            await Task.Delay(job is null ? 50 : 0);
        }

        Assert.NotNull(server);
        Assert.NotNull(job);
        Assert.Equal(requestSpanId, server.SpanId.ToHexString());
        Assert.Equal(server.TraceId, job.TraceId);
        Assert.Equal(server.SpanId, job.ParentSpanId);
        Assert.Equal(ActivityKind.Internal, job.Kind);
    }

    private static async Task<Activity?> WaitForServerSpanAsync(List<Activity> spans, string? traceId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            lock (spans)
            {
                if (spans.FirstOrDefault(span => span.Kind == ActivityKind.Server && (traceId is null || span.TraceId.ToHexString() == traceId)) is { } span)
                {
                    return span;
                }
            }

            await Task.Delay(50);
        }

        return null;
    }

    /// <summary>Copies the ids of every log record as it is emitted (records are pooled after export).</summary>
    private sealed class CaptureIds(ConcurrentQueue<(string, ActivityTraceId, ActivitySpanId, List<KeyValuePair<string, object?>>)> logs)
        : BaseProcessor<OpenTelemetry.Logs.LogRecord>
    {
        public override void OnEnd(OpenTelemetry.Logs.LogRecord data)
        {
            var scopes = new List<KeyValuePair<string, object?>>();
            data.ForEachScope(
                static (scope, items) =>
                {
                    foreach (var item in scope)
                    {
                        items.Add(item);
                    }
                },
                scopes);
            logs.Enqueue((data.FormattedMessage ?? data.Body ?? string.Empty, data.TraceId, data.SpanId, scopes));
        }
    }
}
