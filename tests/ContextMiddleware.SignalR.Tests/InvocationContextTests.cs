using System.Text.Json;
using System.Threading.Channels;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>
/// Each hub invocation runs in a request context of its own, seen the same from the hub method, its Task.Run children,
/// its streams and its log events, over WebSockets and long polling with the .NET client.
/// </summary>
public sealed class InvocationContextTests
{
    public static TheoryData<HttpTransportType> Transports => new() { HttpTransportType.WebSockets, HttpTransportType.LongPolling };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Every_invocation_has_its_own_request_id_and_trace_and_the_connections_user(HttpTransportType transport)
    {
        await using var app = await HubApp.StartAsync();
        await using var connection = await HubApp.ConnectAsync(app, transport, Jwt.CreateToken("user-7", "Seven"));

        var first = await connection.InvokeAsync<Observed[]>("Echo", "first");
        var second = await connection.InvokeAsync<Observed[]>("Echo", "second");

        foreach (var seen in new[] { first, second })
        {
            // The hub method, its Task.Run child, and after an await: one context.
            Assert.All(seen, observed => Assert.Equal(seen[0] with { Tag = observed.Tag }, observed));
            var observed = seen[0];
            Assert.NotNull(observed.RequestId);
            Assert.Equal(observed.TraceId, observed.ActivityTraceId);
            Assert.Equal("user-7", observed.UserId);
            Assert.Equal(nameof(ContextHub), observed.Hub);
            Assert.Equal("Echo", observed.HubMethod);
            Assert.NotNull(observed.ConnectionRequestId);
            Assert.NotEqual(observed.ConnectionRequestId, observed.RequestId);
        }

        Assert.NotEqual(first[0].RequestId, second[0].RequestId);
        Assert.NotEqual(first[0].TraceId, second[0].TraceId);
        Assert.Equal(first[0].ConnectionRequestId, second[0].ConnectionRequestId);

        // The connect request's id is one of the connection's HTTP requests' ids: its log records carry it.
        Assert.Contains(app.Logs.Records, record => record.RequestId == first[0].ConnectionRequestId && record.Category.StartsWith("Microsoft.AspNetCore.Hosting", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_anonymous_connection_has_an_anonymous_user_and_its_own_ids()
    {
        await using var app = await HubApp.StartAsync();
        await using var connection = await HubApp.ConnectAsync(app, HttpTransportType.WebSockets);

        var seen = await connection.InvokeAsync<Observed[]>("Echo", "anonymous");

        Assert.Null(seen[0].UserId);
        Assert.NotNull(seen[0].RequestId);
        Assert.Equal(seen[0].TraceId, seen[0].ActivityTraceId);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Server_to_client_streams_run_in_their_invocations_context_to_the_end(HttpTransportType transport)
    {
        await using var app = await HubApp.StartAsync();
        await using var connection = await HubApp.ConnectAsync(app, transport, Jwt.CreateToken("user-s", "Streamer"));

        var enumerable = new List<Observed>();
        await foreach (var observed in connection.StreamAsync<Observed>("Count", "enumerable", 5))
        {
            enumerable.Add(observed);
        }

        var channel = new List<Observed>();
        var reader = await connection.StreamAsChannelAsync<Observed>("CountChannel", "channel", 5);
        await foreach (var observed in reader.ReadAllAsync())
        {
            channel.Add(observed);
        }

        foreach (var (items, method) in new[] { (enumerable, "Count"), (channel, "CountChannel") })
        {
            Assert.Equal(5, items.Count);
            Assert.Single(items.Select(item => item.RequestId).Distinct());
            Assert.All(items, item =>
            {
                Assert.NotNull(item.RequestId);
                Assert.Equal(item.TraceId, item.ActivityTraceId);
                Assert.Equal("user-s", item.UserId);
                Assert.Equal(method, item.HubMethod);
            });

            // Every event the stream wrote carries the invocation's ids.
            var events = app.Logs.Records.Where(record => record.Message == $"{method} {items[0].Tag}").ToList();
            Assert.Equal(5, events.Count);
            Assert.All(events, record => Assert.Equal((items[0].RequestId, items[0].TraceId), (record.RequestId, record.TraceId)));
        }

        Assert.NotEqual(enumerable[0].RequestId, channel[0].RequestId);
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task Client_to_server_streams_are_read_in_the_invocations_context(HttpTransportType transport)
    {
        await using var app = await HubApp.StartAsync();
        await using var connection = await HubApp.ConnectAsync(app, transport);

        static async IAsyncEnumerable<string> Items()
        {
            for (var i = 0; i < 4; i++)
            {
                await Task.Delay(1);
                yield return $"item-{i}";
            }
        }

        var fromEnumerable = await connection.InvokeAsync<Observed[]>("Upload", "upload", Items());

        var channel = Channel.CreateUnbounded<string>();
        var upload = connection.InvokeAsync<Observed[]>("UploadChannel", "upload-channel", channel.Reader);
        for (var i = 0; i < 4; i++)
        {
            await channel.Writer.WriteAsync($"item-{i}");
            await Task.Delay(1);
        }

        channel.Writer.Complete();
        var fromChannel = await upload;

        foreach (var seen in new[] { fromEnumerable, fromChannel })
        {
            Assert.Equal(4, seen.Length);
            Assert.Single(seen.Select(item => item.RequestId).Distinct());
            Assert.All(seen, item => Assert.Equal(item.TraceId, item.ActivityTraceId));
            var events = app.Logs.Records.Where(record => record.Message == $"{seen[0].HubMethod} {seen[0].Tag}").ToList();
            Assert.Equal(4, events.Count);
            Assert.All(events, record => Assert.Equal(seen[0].RequestId, record.RequestId));
        }

        Assert.NotEqual(fromEnumerable[0].RequestId, fromChannel[0].RequestId);
    }

    [Fact]
    public async Task OnConnected_and_OnDisconnected_run_in_contexts_of_their_own()
    {
        await using var app = await HubApp.StartAsync();
        var lifetimes = app.App.Services.GetRequiredService<LifetimeRecorder>();
        var connection = await HubApp.ConnectAsync(app, HttpTransportType.WebSockets, Jwt.CreateToken("user-l", "Life"));
        var invoked = await connection.InvokeAsync<Observed[]>("Echo", "between");
        var connectionId = connection.ConnectionId!;
        await connection.DisposeAsync();
        await Wait.UntilAsync(() => lifetimes.Disconnected.ContainsKey(connectionId));

        var connected = lifetimes.Connected[connectionId];
        var disconnected = lifetimes.Disconnected[connectionId];
        Assert.Equal("OnConnectedAsync", connected.HubMethod);
        Assert.Equal("OnDisconnectedAsync", disconnected.HubMethod);
        string?[] ids = [connected.RequestId, invoked[0].RequestId, disconnected.RequestId, connected.ConnectionRequestId];
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.All(new[] { connected, disconnected }, observed =>
        {
            Assert.NotNull(observed.RequestId);
            Assert.Equal(observed.TraceId, observed.ActivityTraceId);
            Assert.Equal("user-l", observed.UserId);
            Assert.Equal(invoked[0].ConnectionRequestId, observed.ConnectionRequestId);
        });
        Assert.Equal(connected.RequestId, Assert.Single(app.Logs.Records, record => record.Message == $"Connected {connectionId}").RequestId);
        Assert.Equal(disconnected.RequestId, Assert.Single(app.Logs.Records, record => record.Message == $"Disconnected {connectionId}").RequestId);
    }

    [Fact]
    public async Task Background_work_an_invocation_queues_runs_after_it_in_its_context()
    {
        await using var app = await HubApp.StartAsync();
        var recorder = app.App.Services.GetRequiredService<LifetimeRecorder>();
        await using var connection = await HubApp.ConnectAsync(app, HttpTransportType.WebSockets, Jwt.CreateToken("user-q", "Queue"));

        var invocation = await connection.InvokeAsync<Observed>("Queue", "job-1");
        await Wait.UntilAsync(() => recorder.Connected.ContainsKey("job-job-1"));

        var job = recorder.Connected["job-job-1"];
        Assert.Equal((invocation.RequestId, invocation.TraceId, "user-q", "Queue"), (job.RequestId, job.TraceId, job.UserId, job.HubMethod));
        var logged = Assert.Single(app.Logs.Records, record => record.Message == "Queued job-1");
        Assert.Equal((invocation.RequestId, invocation.TraceId, "user-q"), (logged.RequestId, logged.TraceId, logged.UserId));
    }

    [Fact]
    public async Task A_failing_invocation_keeps_its_context_for_its_own_events_and_the_next_invocation_gets_a_new_one()
    {
        await using var app = await HubApp.StartAsync();
        await using var connection = await HubApp.ConnectAsync(app, HttpTransportType.WebSockets);

        await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => connection.InvokeAsync("Fail", "failing"));
        var next = await connection.InvokeAsync<Observed[]>("Echo", "next");

        var failing = Assert.Single(app.Logs.Records, record => record.Message == "Fail failing");
        Assert.NotNull(failing.RequestId);
        Assert.NotEqual(failing.RequestId, next[0].RequestId);
        Assert.NotEqual(failing.RequestId, next[0].ConnectionRequestId);
    }

    internal static JsonElement Result(System.Text.Json.Nodes.JsonObject completion) =>
        JsonDocument.Parse(completion["result"]!.ToJsonString()).RootElement;
}
