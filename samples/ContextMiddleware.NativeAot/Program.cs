using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ContextMiddleware.AspNetCore;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

// The Native AOT smoke app. `serve` (the default) serves GET /hello and the hub /hubs/smoke until stopped; `self-test`
// starts on a free port of 127.0.0.1, sends itself one request with an X-Request-ID and a traceparent, then streams from
// the hub over a WebSocket with an X-Request-ID invocation header, checks the answers, prints a summary line and exits 0
// (1 when a check fails). Every log line is compact JSON on standard output, enriched with the request's ids.
var selfTest = args.Contains("self-test");

Log.Logger = new LoggerConfiguration()
    .MinimumLevel.Information()
    .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
    .Enrich.WithRequestContext()
    .WriteTo.Console(new CompactJsonFormatter())
    .CreateLogger();

try
{
    var builder = WebApplication.CreateSlimBuilder(args);
    builder.Services.AddSerilog();
    builder.Services.AddRequestContext();
    // The other packages that support Native AOT, registered so that their code is compiled into the app.
    builder.Services.AddGrpc().AddRequestContext();
    builder.Services.AddSignalR()
        .AddJsonProtocol(json => json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, SmokeJson.Default))
        .AddRequestContext();
    builder.Services.AddRequestContextRabbitMQ();
    builder.Services.AddRequestContextLogEnricher();
    if (selfTest)
    {
        builder.WebHost.UseUrls("http://127.0.0.1:0");
    }

    var app = builder.Build();
    app.UseRequestContext();
    app.UseWebSockets();
    app.MapHub<SmokeHub>("/hubs/smoke");
    app.MapGet("/hello", (IRequestContext context, ILogger<HelloEndpoint> logger) =>
    {
        logger.LogInformation("Hello from {Runtime}", Runtime.Name);
        return Results.Text($"{context.RequestId} {context.TraceId}\n");
    });

    if (!selfTest)
    {
        await app.RunAsync();
        return 0;
    }

    await app.StartAsync();
    var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    var exitCode = await SelfTest.RunAsync(new Uri(address));
    await app.StopAsync();
    return exitCode;
}
finally
{
    await Log.CloseAndFlushAsync();
}

/// <summary>A hub whose stream is enumerated by SignalR after the hub filters returned: each item logged in the invocation's context.</summary>
internal sealed class SmokeHub(ILogger<SmokeHub> logger) : Microsoft.AspNetCore.SignalR.Hub
{
    /// <summary>Streams "1" to <paramref name="count"/>, logging each item.</summary>
    public async IAsyncEnumerable<string> Count(int count, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 1; i <= count; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            logger.LogInformation("Streaming {Item}", i);
            yield return i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}

/// <summary>The hub's argument and item types, serialized without reflection.</summary>
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(string))]
internal sealed partial class SmokeJson : JsonSerializerContext;

/// <summary>The category of the endpoint's log lines.</summary>
internal sealed class HelloEndpoint;

/// <summary>What the process runs on.</summary>
internal static class Runtime
{
    /// <summary>"Native AOT" when compiled ahead of time, "JIT" otherwise.</summary>
    public static string Name => System.Runtime.JitInfo.GetCompiledMethodCount() > 0 ? "JIT" : "Native AOT";
}

/// <summary>One request to the app itself, its answer checked; the time from process start to the answer printed.</summary>
internal static class SelfTest
{
    public const string RequestId = "aot-smoke-1";
    public const string HubRequestId = "aot-hub-1";
    public const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    public static async Task<int> RunAsync(Uri address)
    {
        try
        {
            return await RunChecksAsync(address);
        }
        catch (Exception exception) when (exception is HttpRequestException or WebSocketException or OperationCanceledException or JsonException or KeyNotFoundException)
        {
            Log.Error(exception, "Self-test failed on {Runtime}: {Reason}", Runtime.Name, exception.Message);
            return 1;
        }
    }

    private static async Task<int> RunChecksAsync(Uri address)
    {
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
        request.Headers.Add("X-Request-ID", RequestId);
        request.Headers.Add("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01");
        using var response = await client.SendAsync(request);
        var body = (await response.Content.ReadAsStringAsync()).Trim();
        var echoed = response.Headers.TryGetValues("X-Request-ID", out var values) ? string.Join(",", values) : "";
        var startedAt = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        var elapsed = DateTime.UtcNow - startedAt;
        var items = await StreamFromHubAsync(address);
        var ok = response.IsSuccessStatusCode && body == $"{RequestId} {TraceId}" && echoed == RequestId && items == "1,2,3";
        Log.Information(
            "Self-test {Outcome} on {Runtime}: {Status} {Body}, X-Request-ID {Echoed}, streamed {Items}, first answer {ElapsedMs} ms after process start",
            ok ? "passed" : "failed", Runtime.Name, (int)response.StatusCode, body, echoed, items, (long)elapsed.TotalMilliseconds);
        return ok ? 0 : 1;
    }

    /// <summary>
    /// SignalR's JSON protocol over a WebSocket, by hand (no client library): negotiate, handshake, one stream invocation
    /// of Count(3) with an X-Request-ID invocation header; the items, comma-separated.
    /// </summary>
    private static async Task<string> StreamFromHubAsync(Uri address)
    {
        const char Separator = '\u001e';
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        using var negotiation = await client.PostAsync("/hubs/smoke/negotiate?negotiateVersion=1", null);
        using var negotiated = JsonDocument.Parse(await negotiation.Content.ReadAsStringAsync());
        var token = negotiated.RootElement.GetProperty("connectionToken").GetString();

        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(new Uri($"ws://{address.Authority}/hubs/smoke?id={Uri.EscapeDataString(token!)}"), timeout.Token);
        await SendAsync("{\"protocol\":\"json\",\"version\":1}");
        await SendAsync($"{{\"type\":4,\"invocationId\":\"1\",\"target\":\"Count\",\"arguments\":[3],\"headers\":{{\"X-Request-ID\":\"{HubRequestId}\"}}}}");

        var items = new List<string>();
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            received.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
            var text = received.ToString();
            var end = text.LastIndexOf(Separator);
            if (end < 0)
            {
                continue;
            }

            received.Clear().Append(text[(end + 1)..]);
            foreach (var message in text[..end].Split(Separator, StringSplitOptions.RemoveEmptyEntries))
            {
                using var json = JsonDocument.Parse(message);
                var type = json.RootElement.TryGetProperty("type", out var kind) ? kind.GetInt32() : 0;
                if (type == 2)
                {
                    items.Add(json.RootElement.GetProperty("item").GetString()!);
                }
                else if (type == 3 && json.RootElement.TryGetProperty("error", out var error))
                {
                    Log.Error("The hub's stream failed: {Error}", error.GetString());
                    return string.Join(",", items);
                }
                else if (type == 7)
                {
                    Log.Error("The hub closed the connection: {Error}", json.RootElement.TryGetProperty("error", out var reason) ? reason.GetString() : null);
                    return string.Join(",", items);
                }
                else if (type == 3)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                    return string.Join(",", items);
                }
            }
        }

        return string.Join(",", items);

        Task SendAsync(string message) =>
            socket.SendAsync(Encoding.UTF8.GetBytes(message + Separator), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }
}
