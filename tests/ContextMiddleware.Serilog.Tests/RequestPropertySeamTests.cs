using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using Serilog;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.Serilog.Tests;

/// <summary>The review's seams of request properties in Serilog: the event's own values win, a value that cannot be formatted, keep-alive.</summary>
public sealed class RequestPropertySeamTests
{
    private sealed class Throwing
    {
        public override string ToString() => throw new InvalidOperationException("boom");
    }

    private static Task<TestApp> StartAsync(SerilogOutput output) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<global::Serilog.ILogger>());
                app.MapGet("/collide", (ILogger<RequestPropertySeamTests> logger) =>
                {
                    RequestContext.Properties.Set("Order", "spoofed");
                    RequestContext.Properties.Set("StatusCode", "spoofed");
                    RequestContext.Properties.Set("Elapsed", "spoofed");
                    logger.LogInformation("Shipped {Order}", 42);
                    return "ok";
                });
                app.MapGet("/throw", () => RequestContext.Properties.Set("obj", new Throwing()) ? "set" : "dropped");
                app.MapGet("/first", () => { RequestContext.Properties.Set("leak", "first"); return "ok"; });
                app.MapGet("/second", () => RequestContext.Properties.GetAll().Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            },
            builder =>
            {
                builder.Services.AddRequestContext();
                builder.Services.AddSerilog(logger => logger.MinimumLevel.Information().Enrich.WithRequestContext().WriteTo.Sink(output.Sink), preserveStaticLogger: true);
            },
            kestrel: true);

    [Fact]
    public async Task property_does_not_overwrite_the_events_own_properties()
    {
        var output = new SerilogOutput();
        await using var app = await StartAsync(output);
        await app.Client.GetStringAsync("/collide");
        await Task.Delay(300);
        var shipped = output.Events().Single(e => Property(e, "@mt") == "Shipped {Order}");
        var done = output.Events().Single(e => Property(e, "RequestPath") == "/collide" && Property(e, "@mt")!.StartsWith("HTTP", StringComparison.Ordinal));
        Assert.Equal(("42", "200"), (Property(shipped, "Order"), Property(done, "StatusCode")));
    }

    [Fact]
    public async Task a_value_whose_ToString_throws_is_not_a_500()
    {
        var output = new SerilogOutput();
        await using var app = await StartAsync(output);
        var response = await app.Client.GetAsync("/throw");
        Assert.Equal(200, (int)response.StatusCode);
    }

    [Fact]
    public async Task keep_alive_second_request_sees_none()
    {
        var output = new SerilogOutput();
        await using var app = await StartAsync(output);
        for (var i = 0; i < 5; i++)
        {
            await app.Client.GetStringAsync("/first");
            Assert.Equal("0", await app.Client.GetStringAsync("/second"));
        }
    }
}
