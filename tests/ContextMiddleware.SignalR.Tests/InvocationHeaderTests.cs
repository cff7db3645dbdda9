using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using static ContextMiddleware.SignalR.Tests.InvocationContextTests;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>
/// Invocation headers get the treatment of HTTP request headers: the request id and the trace are believed only from a
/// trusted caller, validated, and a hostile value is replaced, never echoed or logged, never a failure.
/// </summary>
public sealed class InvocationHeaderTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ParentSpanId = "00f067aa0ba902b7";
    private const string TraceParent = $"00-{TraceId}-{ParentSpanId}-01";
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    [Theory]
    [InlineData("X-Request-ID")]
    [InlineData("x-request-id")]
    public async Task A_trusted_callers_request_id_and_traceparent_are_the_invocations(string headerName)
    {
        await using var app = await HubApp.StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var observed = await EchoAsync(client, new() { [headerName] = "order-42", ["traceparent"] = TraceParent });

        Assert.Equal("order-42", observed.RequestId);
        Assert.Equal(TraceId, observed.TraceId);
        Assert.Equal(TraceId, observed.ActivityTraceId);
        Assert.Contains(app.Logs.Records, record => record.Message == "Echo raw" && record.RequestId == "order-42" && record.TraceId == TraceId);
    }

    [Fact]
    public async Task Without_headers_each_invocation_starts_its_own_trace_and_its_request_id_is_the_trace_id()
    {
        await using var app = await HubApp.StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var first = await EchoAsync(client, null);
        var second = await EchoAsync(client, null);

        Assert.Equal(first.TraceId, first.ActivityTraceId);
        Assert.Equal(first.TraceId, first.RequestId);
        Assert.NotEqual(first.TraceId, second.TraceId);
    }

    [Theory]
    [InlineData(RequestContextTrust.Ignore, null)]
    [InlineData(RequestContextTrust.TrustedNetworks, "10.0.0.0/8")]
    public async Task An_untrusted_callers_request_id_and_traceparent_are_not_believed(RequestContextTrust trust, string? network)
    {
        await using var app = await HubApp.StartAsync(options =>
        {
            options.IncomingRequestIds = trust;
            if (network is not null)
            {
                options.TrustedNetworks.Add(network);
            }
        });
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var observed = await EchoAsync(client, new() { ["X-Request-ID"] = "order-42", ["traceparent"] = TraceParent });

        Assert.NotEqual("order-42", observed.RequestId);
        Assert.NotEqual(TraceId, observed.TraceId);
        Assert.Equal(observed.TraceId, observed.ActivityTraceId);
    }

    [Fact]
    public async Task A_caller_in_a_trusted_network_is_believed()
    {
        await using var app = await HubApp.StartAsync(options =>
        {
            options.IncomingRequestIds = RequestContextTrust.TrustedNetworks;
            options.TrustedNetworks.Add("127.0.0.1/32");
        });
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var observed = await EchoAsync(client, new() { ["X-Request-ID"] = "order-43", ["traceparent"] = TraceParent });

        Assert.Equal("order-43", observed.RequestId);
        Assert.Equal(TraceId, observed.TraceId);
    }

    public static TheoryData<string> HostileIds => new()
    {
        "evil\r\nX-Injected: yes",
        "tab\there",
        "bell\u0007",
        "ünïcödé-id",
        new string('a', 10_000),
        "",
        "   ",
    };

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task A_hostile_request_id_gets_a_fresh_id_and_is_never_logged_raw(string hostile)
    {
        await using var app = await HubApp.StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var observed = await EchoAsync(client, new() { ["X-Request-ID"] = hostile, ["traceparent"] = "00-zz-yy-01\r\nbad" });

        Assert.NotNull(observed.RequestId);
        Assert.NotEqual(hostile, observed.RequestId);
        Assert.Equal(observed.TraceId, observed.RequestId);
        Assert.Equal(observed.TraceId, observed.ActivityTraceId);
        if (hostile.Trim().Length > 0)
        {
            Assert.DoesNotContain(app.Logs.Records, record => record.AllText.Contains(hostile, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(app.Logs.Records, record => record.AllText.Contains("X-Injected", StringComparison.Ordinal));
        Assert.Contains(app.Logs.Records, record => record.EventId.Name == "InvalidRequestId" && record.RequestId == observed.RequestId);
    }

    [Fact]
    public async Task Request_ids_differing_only_by_case_in_their_names_are_two_values_and_none_is_believed()
    {
        await using var app = await HubApp.StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var observed = await EchoAsync(client, new() { ["X-Request-ID"] = "one", ["x-request-id"] = "two" });

        Assert.NotEqual("one", observed.RequestId);
        Assert.NotEqual("two", observed.RequestId);
    }

    [Fact]
    public async Task With_RejectInvalidRequestIds_a_trusted_invalid_id_fails_the_invocation_naming_the_header_not_the_value()
    {
        await using var app = await HubApp.StartAsync(options => options.RejectInvalidRequestIds = true);
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");

        var completion = await client.InvokeAsync("Echo", ["raw"], new Dictionary<string, string> { ["X-Request-ID"] = "bad id\u0001" });

        var error = (string?)completion["error"];
        Assert.NotNull(error);
        Assert.Contains("X-Request-ID", error, StringComparison.Ordinal);
        Assert.DoesNotContain("bad id", error, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Logs.Records, record => record.Message.StartsWith("Echo", StringComparison.Ordinal));

        // The connection goes on.
        var next = await EchoAsync(client, null);
        Assert.NotNull(next.RequestId);
    }

    [Fact]
    public async Task A_trust_policy_that_throws_fails_closed_and_is_logged_once_with_the_invocations_id()
    {
        await using var app = await HubApp.StartAsync(configureBuilder: builder =>
            builder.Services.AddHttpContextAccessor().AddSingleton<IRequestContextTrustPolicy, ThrowingPolicy>());
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/hub");
        var before = app.Logs.Records.Count(record => record.EventId.Name == "TrustPolicyFailed");

        var observed = await EchoAsync(client, new() { ["X-Request-ID"] = "order-44", ["traceparent"] = TraceParent });

        Assert.NotEqual("order-44", observed.RequestId);
        Assert.NotEqual(TraceId, observed.TraceId);
        var failures = app.Logs.Records.Where(record => record.EventId.Name == "TrustPolicyFailed").Skip(before).ToList();
        Assert.Equal(observed.RequestId, Assert.Single(failures).RequestId);
    }

    [Fact]
    public async Task With_SignalRs_ActivitySource_listened_to_the_trace_is_SignalRs_invocation_span_and_continues_the_dotnet_clients()
    {
        var stopped = new System.Collections.Concurrent.ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Microsoft.AspNetCore.SignalR.Server" or "Microsoft.AspNetCore.SignalR.Client",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await using var app = await HubApp.StartAsync();
        await using var connection = await HubApp.ConnectAsync(app, HttpTransportType.WebSockets);

        using var caller = new Activity("test caller").Start();
        var observed = (await connection.InvokeAsync<Observed[]>("Echo", "from-client"))[0];
        caller.Stop();

        // The .NET client wrote the caller's trace into the invocation's headers; SignalR's span continues it.
        Assert.Equal(caller.TraceId.ToHexString(), observed.TraceId);
        Assert.Equal(observed.TraceId, observed.ActivityTraceId);
        // (The listener hears every test's hubs: this one's span is the one in the caller's trace.)
        bool IsServerSpan(Activity activity) =>
            activity.OperationName == "Microsoft.AspNetCore.SignalR.Server.InvocationIn" && activity.TraceId == caller.TraceId;
        await Wait.UntilAsync(() => stopped.Any(IsServerSpan));
        var server = stopped.First(IsServerSpan);
        Assert.Equal(observed.SpanId, server.SpanId.ToHexString());
    }

    private static async Task<Observed> EchoAsync(RawHubClient client, Dictionary<string, string>? headers)
    {
        var completion = await client.InvokeAsync("Echo", ["raw"], headers);
        Assert.Null((string?)completion["error"]);
        var observed = Result(completion).Deserialize<Observed[]>(WebJson)!;
        Assert.All(observed, item => Assert.Equal(observed[0] with { Tag = item.Tag }, item));
        return observed[0];
    }

    private sealed class ThrowingPolicy : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            remoteAddress is null ? false : throw new InvalidOperationException("policy store unavailable");
    }
}
