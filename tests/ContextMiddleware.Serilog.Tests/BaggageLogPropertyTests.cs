using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using Serilog;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.Serilog.Tests;

/// <summary>A baggage variable registered with a log property is on every Serilog event of its request, as it is when written.</summary>
public sealed class BaggageLogPropertyTests
{
    private static readonly ContextVar<string?> Tenant = new("Tenant", null);
    private static readonly ContextVar<int?> Shard = new("Shard", null);

    [Fact]
    public async Task LoggedBaggageVariable_IsOnEveryEventOfItsRequest_WithTheValueWhenWritten_AndOnNoOtherRequests()
    {
        var output = new SerilogOutput();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<global::Serilog.ILogger>());
                app.MapGet("/t/{i:int}", async (int i, ILogger<BaggageLogPropertyTests> logger) =>
                {
                    logger.LogInformation("Received {Order}", i);
                    await Task.Yield();
                    Tenant.Set($"moved-{i}");
                    logger.LogInformation("Moved {Order}", i);
                    return "ok";
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage
                    .Add(Tenant, "tenant", v => v.LogPropertyName = "Tenant")
                    .Add(Shard, "shard", v => v.LogPropertyName = "Shard")
                    .Add(new ContextVar<string?>("Secret", null), "secret")); // not logged
                builder.Services.AddSerilog(logger => logger.MinimumLevel.Information().Enrich.WithRequestContext().WriteTo.Sink(output.Sink), preserveStaticLogger: true);
            },
            kestrel: true);

        await Parallel.ForEachAsync(Enumerable.Range(0, 40), async (i, token) =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/t/{i}");
            request.Headers.TryAddWithoutValidation("baggage", $"tenant=t-{i},shard={i % 8},secret=s-{i}");
            (await app.Client.SendAsync(request, token)).EnsureSuccessStatusCode();
        });

        var events = output.Events();
        for (var i = 0; i < 40; i++)
        {
            var received = Assert.Single(events, e => Property(e, "@mt") == "Received {Order}" && Property(e, "Order") == i.ToString());
            var moved = Assert.Single(events, e => Property(e, "@mt") == "Moved {Order}" && Property(e, "Order") == i.ToString());
            Assert.Equal($"t-{i}", Property(received, "Tenant"));
            Assert.Equal($"moved-{i}", Property(moved, "Tenant"));
            Assert.Equal((i % 8).ToString(), Property(received, "Shard"));
            Assert.Null(Property(received, "Secret"));
            Assert.Null(Property(received, "secret"));
        }

        Assert.DoesNotContain(events, e => e.GetRawText().Contains("s-1", StringComparison.Ordinal));
    }
}
