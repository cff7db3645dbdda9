using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using static ContextMiddleware.Testing.JsonConsoleCapture;

namespace ContextMiddleware.AspNetCore.Tests.Baggage;

/// <summary>A baggage variable registered with a log property is in the JSON console's request scope of every event.</summary>
public class BaggageLoggingScopeTests
{
    [Fact]
    public async Task LoggedBaggageVariable_IsInTheRequestScope_AsItIsWhenEachEventIsWritten()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/t/{i:int}", async (int i, ILogger<BaggageLoggingScopeTests> logger) =>
                {
                    logger.LogInformation("Received {Order}", i);
                    await Task.Yield();
                    Tenant.Current.Set($"moved-{i}");
                    logger.LogInformation("Moved {Order}", i);
                    return "ok";
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant", v => v.LogPropertyName = "Tenant"));
                builder.Logging.ClearProviders();
                JsonConsoleCapture.AddTo(builder.Logging);
            },
            kestrel: true,
            collectLogs: false);

        await Parallel.ForEachAsync(Enumerable.Range(0, 40), async (i, token) =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/t/{i}");
            request.Headers.TryAddWithoutValidation("baggage", $"tenant=t-{i}");
            (await app.Client.SendAsync(request, token)).EnsureSuccessStatusCode();
        });

        var events = app.App.Services.GetRequiredService<JsonConsoleCapture>().Events;
        for (var i = 0; i < 40; i++)
        {
            var received = Assert.Single(events, e => e.GetProperty("Message").GetString() == $"Received {i}");
            var moved = Assert.Single(events, e => e.GetProperty("Message").GetString() == $"Moved {i}");
            Assert.Equal([$"t-{i}"], ScopeValues(received, "Tenant"));
            Assert.Equal([$"moved-{i}"], ScopeValues(moved, "Tenant"));
        }
    }
}
