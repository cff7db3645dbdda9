using System.Net.Http.Headers;
using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Serilog;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.Serilog.Tests;

/// <summary>
/// Serilog's real output (CompactJsonFormatter, parsed back) with <c>UseSerilogRequestLogging()</c> where Serilog's
/// documentation puts it, before <c>UseRequestContext()</c>, on Kestrel (127.0.0.1): every event of the request,
/// the request log's completion event and hosting's own lines included, carries the request's ids.
/// </summary>
public class PipelineOrderTests
{
    [Fact]
    public async Task RequestLoggingBeforeRequestContext_CompletionEvent_CarriesTheRequestsIdsAndUser()
    {
        // Arrange
        var output = new SerilogOutput();
        await using var app = await StartAsync(output);
        var request = new HttpRequestMessage(HttpMethod.Get, "/orders/5");
        request.Headers.Add("X-Request-ID", "req-serilog");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken("user-5", "Eve"));

        // Act
        var response = await app.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var trace = JsonSerializer.Deserialize<string[]>(await response.Content.ReadAsStringAsync())!;
        await Wait.UntilAsync(() => output.Events().Any(IsCompletion));

        // Assert
        var completion = Assert.Single(output.Events(), IsCompletion);
        var expected = new Dictionary<string, string> { ["RequestId"] = "req-serilog", ["TraceId"] = trace[0], ["SpanId"] = trace[1], ["UserId"] = "user-5" };
        var wrong = expected.Where(pair => Property(completion, pair.Key) != pair.Value)
            .Select(pair => $"{pair.Key}={Property(completion, pair.Key) ?? "null"} (expected {pair.Value})")
            .ToList();
        Assert.True(wrong.Count == 0, $"the completion event lacks the request's ids: {string.Join(", ", wrong)}");
    }

    [Fact]
    public async Task RequestLoggingBeforeRequestContext_EveryEventOfTheRequest_CarriesTheRequestId()
    {
        var output = new SerilogOutput();
        await using var app = await StartAsync(output);
        var request = new HttpRequestMessage(HttpMethod.Get, "/orders/6");
        request.Headers.Add("X-Request-ID", "req-serilog-all");

        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        await Wait.UntilAsync(() => output.Events().Any(e => Property(e, "EventId") is { } id && id.Contains("\"Id\":2", StringComparison.Ordinal) && Property(e, "SourceContext") == "Microsoft.AspNetCore.Hosting.Diagnostics"));

        // Every event written for the request: the handler's, the request log's, hosting's (RequestPath in scope).
        var events = output.Events().Where(e => Property(e, "RequestPath") == "/orders/6" || Property(e, "Order") == "6").ToList();
        Assert.Contains(events, IsCompletion);
        Assert.Contains(events, e => Property(e, "SourceContext") == "Microsoft.AspNetCore.Hosting.Diagnostics");
        var wrong = events.Where(e => Property(e, "RequestId") != "req-serilog-all")
            .Select(e => $"{Property(e, "SourceContext")}: {Property(e, "@mt")} RequestId={Property(e, "RequestId") ?? "null"}")
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {events.Count} events lack the request id: {string.Join(" || ", wrong)}");
    }

    private static bool IsCompletion(JsonElement logEvent) =>
        Property(logEvent, "@mt")?.StartsWith("HTTP {RequestMethod} {RequestPath} responded", StringComparison.Ordinal) == true;

    private static async Task<App> StartAsync(SerilogOutput output)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRequestContext();
        Jwt.AddJwtBearer(builder);
        builder.Services.AddSerilog((_, logger) => logger
            .MinimumLevel.Information()
            .Enrich.WithRequestContext()
            .WriteTo.Sink(output.Sink),
            preserveStaticLogger: true); // other tests of the process keep their static logger
        var app = builder.Build();
        // Serilog's documented place: before the app's other middleware. Handed this host's logger, not the static one.
        app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<ILogger>());
        app.UseRequestContext();
        app.UseAuthentication();
        app.MapGet("/orders/{order:int}", (int order, Microsoft.Extensions.Logging.ILogger<PipelineOrderTests> logger) =>
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "Handling {Order}", order);
            var trace = RequestContext.Trace.Get()!;
            return new[] { trace.TraceId, trace.SpanId };
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
        return new App(app, new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = address });
    }

    private sealed class App(WebApplication app, HttpClient client) : IAsyncDisposable
    {
        public HttpClient Client { get; } = client;

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
