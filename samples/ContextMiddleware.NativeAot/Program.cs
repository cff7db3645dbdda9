using System.Diagnostics;
using System.Runtime.CompilerServices;
using ContextMiddleware.AspNetCore;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

// The Native AOT smoke app. `serve` (the default) serves GET /hello until stopped; `self-test` starts on a free port of
// 127.0.0.1, sends itself one request with an X-Request-ID and a traceparent, checks the answer, prints a summary line
// and exits 0 (1 when a check fails). Every log line is compact JSON on standard output, enriched with the request's ids.
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
    builder.Services.AddSignalR().AddRequestContext();
    builder.Services.AddRequestContextRabbitMQ();
    builder.Services.AddRequestContextLogEnricher();
    if (selfTest)
    {
        builder.WebHost.UseUrls("http://127.0.0.1:0");
    }

    var app = builder.Build();
    app.UseRequestContext();
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

/// <summary>A hub, so that SignalR's request-context filter is compiled and wired as in an app.</summary>
internal sealed class SmokeHub : Microsoft.AspNetCore.SignalR.Hub
{
    /// <summary>Returns the text it is sent.</summary>
    public string Echo(string text) => text;
}

/// <summary>The category of the endpoint's log lines.</summary>
internal sealed class HelloEndpoint;

/// <summary>What the process runs on.</summary>
internal static class Runtime
{
    /// <summary>"Native AOT" when compiled ahead of time, "JIT" otherwise.</summary>
    public static string Name => RuntimeFeature.IsDynamicCodeSupported ? "JIT" : "Native AOT";
}

/// <summary>One request to the app itself, its answer checked; the time from process start to the answer printed.</summary>
internal static class SelfTest
{
    public const string RequestId = "aot-smoke-1";
    public const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    public static async Task<int> RunAsync(Uri address)
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
        var ok = response.IsSuccessStatusCode && body == $"{RequestId} {TraceId}" && echoed == RequestId;
        Log.Information(
            "Self-test {Outcome} on {Runtime}: {Status} {Body}, X-Request-ID {Echoed}, first answer {ElapsedMs} ms after process start",
            ok ? "passed" : "failed", Runtime.Name, (int)response.StatusCode, body, echoed, (long)elapsed.TotalMilliseconds);
        return ok ? 0 : 1;
    }
}
