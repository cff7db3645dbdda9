using System.Text.Json;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using static ContextMiddleware.Testing.JsonConsoleCapture;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// Plain Microsoft.Extensions.Logging: the JSON console formatter's real output, parsed back, carries each request's
/// ids in the request scope, for every event the request writes.
/// </summary>
public class LoggingScopeTests
{
    private const int Requests = 500;

    // Ours is the scope without hosting's RequestPath. Inside a request hosting's own scope carries the request id (it is
    // the request's TraceIdentifier before hosting opens the scope), and ours then leaves it out: one RequestId per event.
    private static readonly Func<JsonElement, bool> OurScope = scope =>
        (scope.TryGetProperty("RequestId", out _) || scope.TryGetProperty("UserId", out _)) && !scope.TryGetProperty("RequestPath", out _);

    [Fact]
    public async Task FiveHundredConcurrentRequests_EveryJsonConsoleLineCarriesItsOwnRequestsIds()
    {
        await using var factory = CreateFactory(_ => { });
        var client = factory.CreateClient();

        var traces = await OrderScenario.SendAsync(client, Requests);

        var events = Capture(factory).Events.Where(e => OrderOf(e) is not null).ToList();
        var mismatches = new List<string>();
        foreach (var (i, trace) in traces)
        {
            var own = events.Where(e => OrderOf(e) == i.ToString()).ToList();
            if (own.Count != OrderScenario.HandlerEvents)
            {
                mismatches.Add($"request {i}: {own.Count} events");
            }

            foreach (var e in own)
            {
                if (ScopeValues(e, "RequestId") is not [var requestId] || requestId != $"req-{i}" ||
                    ScopeValue(e, "UserId", OurScope) != OrderScenario.UserOf(i) ||
                    ScopeValue(e, "TraceId") != trace[0] ||
                    ScopeValue(e, "TraceId", OurScope) is not null) // the framework's Activity scope already has it
                {
                    mismatches.Add($"request {i}: {e}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches, first: {string.Join('\n', mismatches.Take(3))}");
        Assert.Equal(Requests * OrderScenario.HandlerEvents, events.Count);
    }

    [Fact]
    public async Task BackgroundQueueItem_LogsWithItsRequestsScope_AfterTheResponse()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var factory = CreateFactory(_ => { }, done);
        var request = new HttpRequestMessage(HttpMethod.Post, "/jobs");
        request.Headers.Add("X-Request-ID", "req-job");
        (await factory.CreateClient().SendAsync(request)).EnsureSuccessStatusCode();
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var job = Assert.Single(Capture(factory).Events, e => e.GetProperty("Message").GetString() == "Job ran");
        Assert.Equal("req-job", ScopeValue(job, "RequestId", OurScope));
    }

    [Fact]
    public async Task LoggingScope_CanBeSwitchedOff()
    {
        await using var factory = CreateFactory(options => options.LoggingScope = false);
        var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.Add("X-Request-ID", "req-off");
        (await factory.CreateClient().SendAsync(request)).EnsureSuccessStatusCode();

        var e = Capture(factory).Events.First(e => OrderOf(e) == "1");
        Assert.Null(ScopeValue(e, "RequestId", OurScope));
    }

    private static JsonConsoleCapture Capture(TestAppFactory factory) => factory.Services.GetRequiredService<JsonConsoleCapture>();

    private static string? OrderOf(JsonElement logEvent) =>
        logEvent.TryGetProperty("State", out var state) && state.TryGetProperty("Order", out var order) ? order.ToString() : null;

    private static TestAppFactory CreateFactory(Action<RequestContextOptions> configure, TaskCompletionSource? jobDone = null) =>
        new(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.UseRouting();
                app.UseEndpoints(endpoints =>
                {
                    OrderScenario.MapOrders(endpoints);
                    endpoints.MapPost("/jobs", async (IBackgroundWorkQueue queue, ILogger<LoggingScopeTests> logger) =>
                    {
                        await queue.QueueAsync(async cancellationToken =>
                        {
                            await Task.Delay(50, cancellationToken);
                            logger.LogInformation("Job ran");
                            jobDone?.SetResult();
                        });
                        return "queued";
                    });
                });
            },
            services =>
            {
                services.AddRequestContext(configure);
                services.AddRequestContextBackgroundQueue();
                services.AddLogging(JsonConsoleCapture.AddTo);
                services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
                    .AddJwtBearer(options => options.TokenValidationParameters = Jwt.ValidationParameters);
            });
}
