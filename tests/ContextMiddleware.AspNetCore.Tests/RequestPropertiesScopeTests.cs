using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using static ContextMiddleware.Testing.JsonConsoleCapture;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// <c>RequestContext.Properties</c> through plain Microsoft.Extensions.Logging: the JSON console's real output shows a
/// property set deep in a request on every later event of that request (in the request scope), on none before it, and
/// on no other request's, also when the properties change between events.
/// </summary>
public sealed class RequestPropertiesScopeTests
{
    [Fact]
    public async Task Properties_are_in_the_request_scope_of_every_later_event_of_their_request_only()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/orders/{id:int}", async (int id, ILogger<RequestPropertiesScopeTests> logger) =>
                {
                    logger.LogInformation("Before {Order}", id);
                    await Task.Run(async () =>
                    {
                        await Task.Yield();
                        RequestContext.Properties.Set("tenant", $"tenant-{id}");
                    });
                    logger.LogInformation("Middle {Order}", id);
                    RequestContext.Properties.Set("step", 2);
                    RequestContext.Properties.Remove("tenant");
                    logger.LogInformation("After {Order}", id);
                    return "ok";
                });
            },
            builder => AddTo(builder.Logging),
            kestrel: true);
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();

        await Task.WhenAll(Enumerable.Range(0, 50).Select(i => app.Client.GetStringAsync($"/orders/{i}")));

        var mismatches = new List<string>();
        foreach (var e in console.Events.Where(e => e.GetProperty("Category").GetString() == typeof(RequestPropertiesScopeTests).FullName))
        {
            var state = e.GetProperty("State");
            var order = state.GetProperty("Order").ToString();
            var (tenant, step) = (ScopeValues(e, "tenant"), ScopeValues(e, "step"));
            var expected = state.GetProperty("{OriginalFormat}").GetString() switch
            {
                "Before {Order}" => (Tenant: (string?)null, Step: (string?)null),
                "Middle {Order}" => ($"tenant-{order}", null),
                _ => (null, "2"),
            };
            if (tenant.SingleOrDefault() != expected.Tenant || step.SingleOrDefault() != expected.Step || tenant.Count > 1 || step.Count > 1)
            {
                mismatches.Add(e.ToString());
            }
        }

        Assert.Empty(mismatches);
        Assert.Equal(150, console.Events.Count(e => e.GetProperty("Category").GetString() == typeof(RequestPropertiesScopeTests).FullName));
    }
}
