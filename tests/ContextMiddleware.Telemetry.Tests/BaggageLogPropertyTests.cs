using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Telemetry.Tests;

/// <summary>A baggage variable registered with a log property is in the state of every enriched record of its request.</summary>
public sealed class BaggageLogPropertyTests
{
    private static readonly ContextVar<string?> Tenant = new("TelemetryTenant", null);

    [Fact]
    public async Task Logged_baggage_variable_is_in_each_records_state_with_its_requests_value()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/t/{i:int}", (int i, ILogger<BaggageLogPropertyTests> logger) =>
                {
                    logger.LogInformation("Tenant order {Order}", i);
                    return "ok";
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant, "tenant", v => v.LogPropertyName = "Tenant"));
                builder.Logging.EnableEnrichment();
                builder.Services.AddRequestContextLogEnricher();
                JsonConsoleCapture.AddTo(builder.Logging);
            },
            kestrel: true,
            collectLogs: false);

        await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/t/{i}");
            request.Headers.TryAddWithoutValidation("baggage", $"tenant=t-{i}");
            (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }));

        var events = app.App.Services.GetRequiredService<JsonConsoleCapture>().Events;
        for (var i = 0; i < 30; i++)
        {
            var e = Assert.Single(events, e => e.GetProperty("Message").GetString() == $"Tenant order {i}");
            Assert.Equal($"t-{i}", e.GetProperty("State").GetProperty("Tenant").GetString());
        }
    }
}
