using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using static ContextMiddleware.SignalR.Tests.InvocationContextTests;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>What the seam tests' hub and filter saw.</summary>
public sealed class ProbeState
{
    public ConcurrentDictionary<string, object?> Values { get; } = new();

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ConcurrentQueue<Observed> FilterSaw { get; } = new();
}

public interface IObservedStream : IAsyncEnumerable<Observed>;

public sealed class ObservedStream(string tag, int count) : IObservedStream
{
    public async IAsyncEnumerator<Observed> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(1, cancellationToken);
            yield return Observed.Now(tag);
        }
    }
}

public sealed class AppFilter(ProbeState state, ILogger<AppFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        logger.LogInformation("AppFilter before {Method}", invocationContext.HubMethodName);
        state.FilterSaw.Enqueue(Observed.Now("filter"));
        return await next(invocationContext);
    }
}

public sealed class ProbeHub(ILogger<ProbeHub> logger, ProbeState state) : Hub
{
    [HubMethodName("renamed")]
    public string Original() => HubRequestContext.HubMethod ?? "(null)";

    public Observed Now(string tag)
    {
        logger.LogInformation("Now {Tag}", tag);
        return Observed.Now(tag);
    }

    public async Task<Observed> Slow(string tag, int milliseconds)
    {
        await Task.Delay(milliseconds);
        logger.LogInformation("Slow {Tag}", tag);
        return Observed.Now(tag);
    }

    public IObservedStream DerivedInterfaceStream(string tag, int count) => new ObservedStream(tag, count);

    public ObservedStream ClassStream(string tag, int count) => new(tag, count);

    public async Task<IAsyncEnumerable<Observed>> TaskStream(string tag, int count)
    {
        await Task.Yield();
        return Items(tag, count);
    }

    private static async IAsyncEnumerable<Observed> Items(string tag, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(1);
            yield return Observed.Now(tag);
        }
    }

    public async IAsyncEnumerable<int> Endless([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        state.Values["endless.activity"] = Activity.Current;
        state.Values["endless.source"] = IncomingCallSource.Current;
        var i = 0;
        while (true)
        {
            await Task.Delay(10, cancellationToken);
            yield return i++;
        }
    }

    public async IAsyncEnumerable<int> ThrowFirst()
    {
        state.Values["throw.activity"] = Activity.Current;
        state.Values["throw.source"] = IncomingCallSource.Current;
        await Task.Yield();
        throw new InvalidOperationException("first");
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }

    public string Outlive()
    {
        state.Values["outlive.source"] = IncomingCallSource.Current;
        _ = Task.Run(async () =>
        {
            await state.Release.Task;
            state.Values["outlive.observed"] = Observed.Now("outlive");
        });
        return "ok";
    }
}

/// <summary>
/// The seams of the hub integration, found by a hostile review: header cross-talk, streams of every declared type,
/// cancellation, trust with custom policies and long polling, hostile headers, the app's own filters and scopes,
/// trace-header records, and work that outlives its connection.
/// </summary>
public sealed class SignalRSeamTests
{
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private static Task<TestApp> StartAsync(
        Action<RequestContextOptions>? options = null,
        Action<WebApplicationBuilder>? before = null,
        Action<WebApplicationBuilder>? after = null,
        int parallel = 4,
        Action<WebApplication>? endpoints = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapHub<ProbeHub>("/probe");
                endpoints?.Invoke(app);
            },
            builder =>
            {
                builder.Services.AddRequestContext(options);
                Jwt.AddJwtBearer(builder);
                builder.Services.AddAuthorization();
                builder.Services.AddSingleton<ProbeState>();
                before?.Invoke(builder);
                builder.Services.AddSignalR(hub => hub.MaximumParallelInvocationsPerClient = parallel).AddRequestContext();
                after?.Invoke(builder);
            },
            kestrel: true);

    private static async Task<HubConnection> ConnectAsync(TestApp app, HttpTransportType transport = HttpTransportType.WebSockets, string? token = null)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "/probe"), transport, o =>
            {
                if (token is not null)
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(token);
                }
            })
            .Build();
        await connection.StartAsync();
        return connection;
    }

    // ---- 1. Cross-talk ----

    [Fact]
    public async Task headers_of_one_invocation_do_not_leak_into_the_next()
    {
        await using var app = await StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        var a = await client.InvokeAsync("Now", ["a"], new Dictionary<string, string> { ["X-Request-ID"] = "order-A" });
        var b = await client.InvokeAsync("Now", ["b"]);
        var c = await client.InvokeAsync("Now", ["c"], new Dictionary<string, string>());

        Assert.Equal("order-A", Result(a).GetProperty("requestId").GetString());
        Assert.NotEqual("order-A", Result(b).GetProperty("requestId").GetString());
        Assert.NotEqual("order-A", Result(c).GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task parallel_invocations_with_and_without_headers_do_not_cross()
    {
        await using var app = await StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        var ids = new List<(string Id, string? Expected)>();
        for (var i = 0; i < 40; i++)
        {
            var expected = i % 2 == 0 ? $"order-{i}" : null;
            var id = await client.SendAsync("Slow", [$"t{i}", i % 3 * 20], expected is null ? null : new Dictionary<string, string> { ["X-Request-ID"] = expected });
            ids.Add((id, expected));
        }

        var completions = await client.ReceiveCompletionsAsync(ids.Count);
        foreach (var (id, expected) in ids)
        {
            var completion = completions[id];
            Assert.Null((string?)completion["error"]);
            var requestId = Result(completion).GetProperty("requestId").GetString();
            if (expected is null)
            {
                Assert.DoesNotMatch("^order-", requestId!);
            }
            else
            {
                Assert.Equal(expected, requestId);
            }
        }
    }

    // ---- 2. Streams ----

    [Fact]
    public async Task a_stream_cancelled_by_the_client_ends_its_invocation_and_stops_its_activity()
    {
        await using var app = await StartAsync();
        var state = app.App.Services.GetRequiredService<ProbeState>();
        await using var connection = await ConnectAsync(app);

        using var cts = new CancellationTokenSource();
        var received = 0;
        try
        {
            await foreach (var _ in connection.StreamAsync<int>("Endless", cts.Token))
            {
                if (++received == 3)
                {
                    cts.Cancel();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        var activity = (Activity)state.Values["endless.activity"]!;
        var source = state.Values["endless.source"]!;
        await Wait.UntilAsync(() => activity.IsStopped);
        await Wait.UntilAsync(() => CallerOf(source) is null);
    }

    [Fact]
    public async Task a_stream_that_throws_on_first_MoveNext_ends_its_invocation()
    {
        await using var app = await StartAsync();
        var state = app.App.Services.GetRequiredService<ProbeState>();
        await using var connection = await ConnectAsync(app);

        await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in connection.StreamAsync<int>("ThrowFirst"))
            {
            }
        });

        var activity = (Activity)state.Values["throw.activity"]!;
        await Wait.UntilAsync(() => activity.IsStopped);
        await Wait.UntilAsync(() => CallerOf(state.Values["throw.source"]!) is null);
        var next = await connection.InvokeAsync<Observed>("Now", "after");
        Assert.NotNull(next.RequestId);
    }

    [Theory]
    [InlineData("DerivedInterfaceStream")]
    [InlineData("ClassStream")]
    [InlineData("TaskStream")]
    public async Task streams_of_other_declared_types_run_in_their_invocations_context(string method)
    {
        await using var app = await StartAsync();
        await using var connection = await ConnectAsync(app);

        var items = new List<Observed>();
        await foreach (var item in connection.StreamAsync<Observed>(method, "s", 3))
        {
            items.Add(item);
        }

        Assert.Equal(3, items.Count);
        Assert.All(items, item =>
        {
            Assert.Equal(nameof(ProbeHub), item.Hub);
            Assert.Equal(method, item.HubMethod);
            Assert.NotEqual(item.ConnectionRequestId, item.RequestId);
        });
    }

    [Fact]
    public async Task HubMethod_is_the_name_the_client_invoked_HubMethodName()
    {
        await using var app = await StartAsync();
        await using var connection = await ConnectAsync(app);

        var seen = await connection.InvokeAsync<string>("renamed");

        // docs/signalr-and-grpc.md: "HubMethod: The hub method as invoked (its [HubMethodName])"
        Assert.Equal("renamed", seen);
    }

    // ---- 3. Trust ----

    [Fact]
    public async Task An_app_propagator_registered_after_AddRequestContext_is_warned_about_naming_the_fix()
    {
        await using var app = await StartAsync(after: builder => builder.Services.AddSingleton(DistributedContextPropagator.CreateDefaultPropagator()));
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        await client.InvokeAsync("Now", ["x"], new Dictionary<string, string> { ["X-Request-ID"] = "order-1" });

        var warning = Assert.Single(app.Logs.Records, r => r.EventId.Name == "InvocationHeadersNotRead");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("before calling AddSignalR().AddRequestContext()", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_app_propagator_registered_before_AddRequestContext_is_decorated_and_trust_applies()
    {
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        await using var app = await StartAsync(
            options => options.IncomingTraceContext = RequestContextTrust.Ignore,
            before: builder => builder.Services.AddSingleton(DistributedContextPropagator.CreateDefaultPropagator()));
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        var completion = await client.InvokeAsync("Now", ["x"], new Dictionary<string, string>
        {
            ["X-Request-ID"] = "order-1",
            ["traceparent"] = $"00-{traceId}-00f067aa0ba902b7-01",
        });

        Assert.Equal("order-1", Result(completion).GetProperty("requestId").GetString());
        Assert.NotEqual(traceId, Result(completion).GetProperty("traceId").GetString());
        Assert.DoesNotContain(app.Logs.Records, r => r.EventId.Name == "InvocationHeadersNotRead");
    }

    private sealed class LoopbackOnlyPolicy : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) => remoteAddress is not null && IPAddress.IsLoopback(remoteAddress);
    }

    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    public async Task a_custom_policy_trusting_loopback_continues_the_dotnet_clients_trace(HttpTransportType transport)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Microsoft.AspNetCore.SignalR.Client",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var app = await StartAsync(before: builder =>
            builder.Services.AddHttpContextAccessor().AddSingleton<IRequestContextTrustPolicy, LoopbackOnlyPolicy>());
        await using var connection = await ConnectAsync(app, transport);
        await Task.Delay(300); // long polling: let the first poll end

        using var caller = new Activity("caller").Start();
        var seen = await connection.InvokeAsync<Observed>("Now", "trusted");
        caller.Stop();

        Assert.Equal(caller.TraceId.ToHexString(), seen.TraceId);
    }

    // ---- 4. Hostile headers ----

    public static TheoryData<string, Dictionary<string, string>> HostileHeaderSets
    {
        get
        {
            var many = Enumerable.Range(0, 2000).ToDictionary(i => $"h{i}", i => new string('x', 100));
            many["X-Request-ID"] = "evil\r\nX-Injected: yes";
            return new()
            {
                { "many", many },
                { "tracestate-huge", new() { ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ["tracestate"] = string.Join(",", Enumerable.Range(0, 5000).Select(i => $"k{i}=v{i}")) } },
                { "baggage-garbage", new() { ["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ["baggage"] = "a=%ZZ,\u0001=\u0002,X-Injected-B=" + new string('b', 100_000) } },
                { "traceparent-garbage", new() { ["traceparent"] = "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX-Injected: yes", ["tracestate"] = "\r\n" } },
                { "traceparent-future", new() { ["traceparent"] = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-X-Injected" } },
                { "case-dupes", new() { ["X-Request-ID"] = "one", ["x-request-id"] = "X-Injected", ["X-REQUEST-ID"] = "three" } },
                { "nul", new() { ["X-Request-ID"] = "abc\0X-Injected" } },
            };
        }
    }

    [Theory]
    [MemberData(nameof(HostileHeaderSets))]
    public async Task hostile_invocation_headers_never_fail_and_are_never_logged_raw(string name, Dictionary<string, string> headers)
    {
        _ = name;
        await using var app = await StartAsync(after: builder => builder.Services.Configure<HubOptions>(o => o.MaximumReceiveMessageSize = 10_000_000));
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        var completion = await client.InvokeAsync("Now", ["hostile"], headers);

        Assert.Null((string?)completion["error"]);
        Assert.DoesNotContain(app.Logs.Records, record => record.AllText.Contains("X-Injected", StringComparison.Ordinal));
        var baggage = Activity.Current?.Baggage;
        _ = baggage;
    }

    // ---- 5. Logging ----

    [Fact]
    public async Task an_app_hub_filter_added_before_sees_the_invocations_context()
    {
        await using var app = await StartAsync(before: builder => builder.Services.AddSignalR(o => o.AddFilter<AppFilter>()));
        var state = app.App.Services.GetRequiredService<ProbeState>();
        await using var connection = await ConnectAsync(app);

        var seen = await connection.InvokeAsync<Observed>("Now", "f");

        var filter = Assert.Single(state.FilterSaw);
        Assert.Equal(seen.RequestId, filter.RequestId);
    }

    [Fact]
    public async Task a_per_hub_app_filter_sees_the_invocations_context()
    {
        await using var app = await StartAsync(after: builder => builder.Services.AddSignalR().AddHubOptions<ProbeHub>(o => o.AddFilter<AppFilter>()));
        var state = app.App.Services.GetRequiredService<ProbeState>();
        await using var connection = await ConnectAsync(app);

        var seen = await connection.InvokeAsync<Observed>("Now", "f");

        var filter = Assert.Single(state.FilterSaw);
        Assert.Equal(seen.RequestId, filter.RequestId);
    }

    [Fact]
    public async Task json_console_hub_events_have_exactly_one_RequestId()
    {
        await using var app = await StartAsync(before: builder => JsonConsoleCapture.AddTo(builder.Logging));
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();
        await using var connection = await ConnectAsync(app);

        var seen = await connection.InvokeAsync<Observed>("Now", "json");
        await connection.DisposeAsync();
        await Task.Delay(200);

        var events = console.Events.Where(e => e.GetProperty("Message").GetString() == "Now json").ToList();
        var only = Assert.Single(events);
        Assert.Equal([seen.RequestId!], JsonConsoleCapture.ScopeValues(only, "RequestId"));
    }

    [Fact]
    public async Task a_user_scope_with_its_own_RequestId_inside_an_http_request_keeps_its_message()
    {
        await using var app = await StartAsync(
            before: builder => JsonConsoleCapture.AddTo(builder.Logging),
            endpoints: web => web.MapGet("/scoped", (ILogger<ProbeHub> logger) =>
            {
                using (logger.BeginScope("Calling payments for downstream request {RequestId}", "payments-77"))
                {
                    logger.LogInformation("inside user scope");
                }

                return "ok";
            }));
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();

        await app.Client.GetStringAsync("/scoped");

        var logged = Assert.Single(console.Events, e => e.GetProperty("Message").GetString() == "inside user scope");
        var text = logged.ToString();
        Assert.Contains("payments-77", text, StringComparison.Ordinal);
        Assert.Contains("Calling payments", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "UntrustedTraceContext")]
    [InlineData(true, "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "InvalidTraceParent")]
    public async Task an_invocations_trace_header_problem_is_logged_like_an_http_ones(bool trusted, string traceParent, string eventName)
    {
        await using var app = await StartAsync(
            options => options.IncomingTraceContext = trusted ? RequestContextTrust.Trust : RequestContextTrust.Ignore,
            endpoints: web => web.MapGet("/t", () => "ok"));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/t");
        request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        await app.Client.SendAsync(request);
        var http = app.Logs.Records.Count(r => r.EventId.Name == eventName);
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/probe");

        var completion = await client.InvokeAsync("Now", ["x"], new Dictionary<string, string> { ["traceparent"] = traceParent });
        var requestId = Result(completion).GetProperty("requestId").GetString();

        Assert.Equal(1, http);
        Assert.Contains(app.Logs.Records, r => r.EventId.Name == eventName && r.RequestId == requestId);
    }

    // ---- 6. Lifetimes ----

    [Fact]
    public async Task work_outliving_the_connection_keeps_the_user_and_lets_go_of_the_caller()
    {
        await using var app = await StartAsync();
        var state = app.App.Services.GetRequiredService<ProbeState>();
        var connection = await ConnectAsync(app, token: Jwt.CreateToken("user-o", "Out"));
        Assert.Equal("ok", await connection.InvokeAsync<string>("Outlive"));
        await connection.DisposeAsync();
        await Task.Delay(200);

        Assert.Null(CallerOf(state.Values["outlive.source"]!));
        state.Release.SetResult();
        await Wait.UntilAsync(() => state.Values.ContainsKey("outlive.observed"));
        var observed = (Observed)state.Values["outlive.observed"]!;
        Assert.Equal("user-o", observed.UserId);
        Assert.Equal("Outlive", observed.HubMethod);
    }

    private static object? CallerOf(object source) =>
        source.GetType().GetField("_caller", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(source);
}
