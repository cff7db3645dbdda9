using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using LogRecord = ContextMiddleware.Testing.LogRecord;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// One unhandled exception, one Error record: counted across every category, carrying the request id, with the
/// 500 carrying X-Request-ID; never a 500 nobody logged; no Error for a request the client abandoned; and the
/// framework's own telemetry (metrics, Activity status) still describes the failure as it would without us.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class UnhandledExceptionTests
{
    public enum Setup
    {
        ProductionNoHandler,
        DevelopmentExceptionPage,
        ExceptionHandlerBeforeRequestContext,
        ExceptionHandlerAfterRequestContext,
    }

    [Theory]
    [InlineData(Setup.ProductionNoHandler)]
    [InlineData(Setup.DevelopmentExceptionPage)]
    [InlineData(Setup.ExceptionHandlerBeforeRequestContext)]
    [InlineData(Setup.ExceptionHandlerAfterRequestContext)]
    public async Task UnhandledException_IsLoggedExactlyOnce_WithTheRequestId(Setup setup)
    {
        // Arrange
        await using var app = await TestApp.StartAsync(
            app =>
            {
                if (setup == Setup.ExceptionHandlerBeforeRequestContext)
                {
                    app.UseExceptionHandler("/error");
                }

                app.UseRequestContext();
                if (setup == Setup.ExceptionHandlerAfterRequestContext)
                {
                    app.UseExceptionHandler("/error");
                }

                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
                app.Map("/error", () => Results.Problem("handled", statusCode: 500));
            },
            builder => builder.Services.AddProblemDetails(),
            kestrel: true,
            environment: setup == Setup.DevelopmentExceptionPage ? "Development" : "Production");
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-once");

        // Act
        var response = await app.Client.SendAsync(request);
        await WaitForRequestFinishedAsync(app);

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("req-once", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        var errors = ErrorsWithException(app);
        Assert.True(errors.Count == 1, $"expected one Error record with the exception, got {errors.Count}: {Describe(errors)}");
        Assert.Equal("req-once", errors[0].RequestId);
    }

    [Fact]
    public async Task MiddlewareBeforeRequestContext_ThrowingAfterNext_NeverGivesAnUnlogged500()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.Use(async (context, next) =>
                {
                    await next(context);
                    throw new InvalidOperationException("after next");
                });
                app.UseRequestContext();
                app.MapGet("/accepted", () => Results.StatusCode(202));
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/accepted");
        request.Headers.Add("X-Request-ID", "req-after");

        HttpResponseMessage? response = null;
        try
        {
            response = await app.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (HttpRequestException)
        {
            // An aborted response is no 500; what matters is that a 500 is never unlogged.
        }

        await WaitForRequestFinishedAsync(app);
        var errors = ErrorsWithException(app);
        if (response?.StatusCode == HttpStatusCode.InternalServerError)
        {
            Assert.True(errors.Count >= 1, "the client got a 500 that no Error record explains");
            Assert.Contains(errors, e => e.Exception is InvalidOperationException);
        }

        Assert.True(errors.Count >= 1, "the exception was not logged at all");
    }

    [Fact]
    public async Task AbandonedRequest_ClientCancels_AddsNoErrorRecord_IsLoggedAtDebug_AndAnswered499()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/slow", async (HttpContext context) =>
                {
                    started.TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    return "never";
                });
            },
            kestrel: true);
        using var cancel = new CancellationTokenSource();
        var request = new HttpRequestMessage(HttpMethod.Get, "/slow");
        request.Headers.Add("X-Request-ID", "req-abandoned");

        var sending = app.Client.SendAsync(request, cancel.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        await WaitForRequestFinishedAsync(app);
        await Task.Delay(300);

        var errors = app.Logs.Records.Where(r => r.Level >= LogLevel.Error).ToList();
        Assert.True(errors.Count == 0, $"an abandoned request produced {errors.Count} Error record(s): {Describe(errors)}");

        // README: "logged at Debug and answered 499".
        var aborted = Assert.Single(app.Logs.Records, r => r.EventId.Name == "RequestAborted");
        Assert.Equal(LogLevel.Debug, aborted.Level);
        Assert.Equal("req-abandoned", aborted.RequestId);
        var finished = Assert.Single(app.Logs.Records, r => r.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && r.EventId.Id == 2);
        Assert.Equal(499, Convert.ToInt32(finished.State.Single(p => p.Key == "StatusCode").Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task UnhandledException_HostingDurationMetric_KeepsTheExceptionTypeAsErrorType()
    {
        var errorTypes = new List<string?>();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom-metric", string () => throw new InvalidOperationException("boom"));
            },
            kestrel: true);
        var meterFactory = app.App.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Microsoft.AspNetCore.Hosting" && instrument.Name == "http.server.request.duration" && ReferenceEquals(instrument.Meter.Scope, meterFactory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            string? route = null;
            string? errorType = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "http.route")
                {
                    route = tag.Value?.ToString();
                }
                else if (tag.Key == "error.type")
                {
                    errorType = tag.Value?.ToString();
                }
            }

            if (route == "/boom-metric")
            {
                lock (errorTypes)
                {
                    errorTypes.Add(errorType);
                }
            }
        });
        listener.Start();

        var response = await app.Client.GetAsync("/boom-metric");
        await WaitForRequestFinishedAsync(app);
        await Wait.UntilAsync(() => { lock (errorTypes) { return errorTypes.Count > 0; } });

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        lock (errorTypes)
        {
            Assert.Equal(typeof(InvalidOperationException).FullName, Assert.Single(errorTypes));
        }
    }

    [Fact]
    public async Task UnhandledException_RequestActivityStatus_IsTheExceptionType_NeverItsMessage()
    {
        const string secret = "secret-card-number-4111";
        var traceId = ActivityTraceId.CreateRandom();
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    lock (stopped)
                    {
                        stopped.Add(activity);
                    }
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom-status", string () => throw new InvalidOperationException(secret));
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom-status");
        request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");

        var response = await app.Client.SendAsync(request);
        await WaitForRequestFinishedAsync(app);
        await Wait.UntilAsync(() => { lock (stopped) { return stopped.Count > 0; } });

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Activity activity;
        lock (stopped)
        {
            activity = Assert.Single(stopped);
        }

        Assert.Equal(ActivityStatusCode.Error, activity.Status);
        Assert.DoesNotContain(secret, activity.StatusDescription ?? string.Empty, StringComparison.Ordinal);
        Assert.Contains(activity.StatusDescription, new[] { nameof(InvalidOperationException), typeof(InvalidOperationException).FullName });
    }

    private static List<LogRecord> ErrorsWithException(TestApp app) =>
        [.. app.Logs.Records.Where(r => r.Level >= LogLevel.Error && r.Exception is not null)];

    private static string Describe(IEnumerable<LogRecord> records) =>
        string.Join(" || ", records.Select(r => $"{r.Category}/{r.EventId} RequestId={r.RequestId ?? "null"}"));

    private static Task WaitForRequestFinishedAsync(TestApp app) =>
        Wait.UntilAsync(() => app.Logs.Records.Any(r => r.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && r.EventId.Id == 2));
}
