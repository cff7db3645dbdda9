using System.Reflection;
using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using static ContextMiddleware.SignalR.Tests.InvocationContextTests;

namespace ContextMiddleware.SignalR.Tests;

public sealed class ScopeHub(ILogger<ScopeHub> logger) : Hub
{
    public string ConnectionScoped()
    {
        using (logger.BeginScope("About connection request {RequestId}", HubRequestContext.ConnectionRequestId))
        {
            logger.LogInformation("inside connection scope");
        }

        return HubRequestContext.ConnectionRequestId ?? "(null)";
    }

    public string ReplacedUser()
    {
        RequestContext.User.Set(new FixedUser());
        logger.LogInformation("after user replaced");
        return RequestContext.RequestId.Get()!;
    }
}

public sealed class FixedUser : ICurrentUser
{
    public bool IsAuthenticated => true;
    public string? Id => "svc";
    public string? Name => "Service";
    public System.Security.Claims.ClaimsPrincipal Principal { get; } = new(new System.Security.Claims.ClaimsIdentity("x"));
    public bool IsInRole(string role) => false;
    public string? FindFirstValue(string claimType) => null;
}

/// <summary>
/// The second review's seams: one RequestId per event (a message inside a request, a user replaced inside an
/// invocation) while an app's own scope keeps its RequestId, invocation trace-header records, header-name case.
/// </summary>
public sealed class ScopeAndHeaderSeamTests
{
    private static Task<TestApp> StartAsync(Action<RequestContextOptions>? options = null, bool json = false) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapHub<ScopeHub>("/r2");
                app.MapGet("/id", () => RequestContext.RequestId.Get());
                app.MapHub<ProbeHub>("/probe");
                app.MapGet("/replay", (string id, ILogger<ScopeAndHeaderSeamTests> logger) =>
                {
                    using (logger.BeginScope("Replaying {RequestId}", id))
                    {
                        logger.LogInformation("inside replay scope");
                    }

                    return RequestContext.RequestId.Get();
                });
                app.MapGet("/extract", async (IRequestContextPropagator propagator, ILogger<ScopeAndHeaderSeamTests> logger) =>
                {
                    var carrier = new Dictionary<string, string> { ["X-Request-ID"] = "msg-1" };
                    var context = propagator.Extract(carrier, static (c, name) => c.TryGetValue(name, out var v) ? new StringValues(v) : StringValues.Empty);
                    string? seen = null;
                    await propagator.RunAsync(context, () =>
                    {
                        seen = RequestContext.RequestId.Get();
                        logger.LogInformation("message handled");
                        return Task.CompletedTask;
                    });
                    return seen;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options);
                builder.Services.AddSingleton<ProbeState>();
                if (json)
                {
                    JsonConsoleCapture.AddTo(builder.Logging);
                }

                builder.Services.AddSignalR().AddRequestContext();
            },
            kestrel: true);

    [Fact]
    public async Task app_scope_naming_a_previous_request_on_the_connection_keeps_its_RequestId()
    {
        await using var app = await StartAsync(json: true);
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();
        var firstId = await app.Client.GetStringAsync("/id");

        var current = await app.Client.GetStringAsync($"/replay?id={firstId}");

        var logged = Assert.Single(console.Events, e => e.GetProperty("Message").GetString() == "inside replay scope");
        Assert.Equal(new[] { firstId, current }.Order(), JsonConsoleCapture.ScopeValues(logged, "RequestId").Order());
    }

    [Fact]
    public async Task a_message_run_inside_an_http_request_logs_one_RequestId()
    {
        await using var app = await StartAsync(json: true);
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();

        var seen = await app.Client.GetStringAsync("/extract");

        var logged = Assert.Single(console.Events, e => e.GetProperty("Message").GetString() == "message handled");
        Assert.Equal([seen], JsonConsoleCapture.ScopeValues(logged, "RequestId"));
    }

    [Fact]
    public async Task hub_app_scope_with_the_connection_request_id_on_purpose_is_passed_on_as_it_is()
    {
        await using var app = await StartAsync(json: true);
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/r2");

        var completion = await client.InvokeAsync("ConnectionScoped", []);
        var connectionRequestId = Result(completion).GetString();

        var logged = Assert.Single(console.Events, e => e.GetProperty("Message").GetString() == "inside connection scope");
        Assert.Contains(connectionRequestId!, JsonConsoleCapture.ScopeValues(logged, "RequestId"));
    }

    [Fact]
    public async Task hub_invocation_that_replaces_the_user_still_logs_one_RequestId()
    {
        await using var app = await StartAsync(json: true);
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/r2");

        var completion = await client.InvokeAsync("ReplacedUser", []);
        var invocationId = Result(completion).GetString();

        var logged = Assert.Single(console.Events, e => e.GetProperty("Message").GetString() == "after user replaced");
        Assert.Equal([invocationId!], JsonConsoleCapture.ScopeValues(logged, "RequestId"));
    }

    public static TheoryData<string, Dictionary<string, string>> GoodHeaders => new()
    {
        { "parent+state", new() { ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ["tracestate"] = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7" } },
        { "parent+emptystate", new() { ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ["tracestate"] = "" } },
        { "parent+spacestate", new() { ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ["tracestate"] = " " } },
        { "stateonly", new() { ["tracestate"] = "congo=t61rcWkgMzE" } },
        { "baggageonly", new() { ["baggage"] = "a=b" } },
    };

    [Theory]
    [MemberData(nameof(GoodHeaders))]
    public async Task trusted_invocation_trace_headers_are_recorded_like_http(string name, Dictionary<string, string> headers)
    {
        _ = name;
        await using var app = await StartAsync();
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/enclosing"))
        {
            foreach (var (k, v) in headers)
            {
                request.Headers.TryAddWithoutValidation(k, v);
            }

            await app.Client.SendAsync(request);
        }

        string[] names = ["InvalidTraceParent", "InvalidTraceState", "UntrustedTraceContext"];
        var http = string.Join(",", names.Select(n => n + "=" + app.Logs.Records.Count(r => r.EventId.Name == n)));
        var before = app.Logs.Records.Count;
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");
        var completion = await client.InvokeAsync("Now", ["x"], headers);
        Assert.Null((string?)completion["error"]);
        var hubRecords = app.Logs.Records.Skip(before).ToList();
        var hub = string.Join(",", names.Select(n => n + "=" + hubRecords.Count(r => r.EventId.Name == n)));
        Assert.Equal(http, hub);
    }

    [Fact]
    public async Task trusted_upper_case_Traceparent_continues_the_trace_like_http()
    {
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        await using var app = await StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        var completion = await client.InvokeAsync("Now", ["x"], new Dictionary<string, string> { ["Traceparent"] = $"00-{traceId}-00f067aa0ba902b7-01" });

        Assert.Equal(traceId, Result(completion).GetProperty("traceId").GetString());
    }
}
