using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using Serilog;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.Serilog.Tests;

/// <summary>
/// <c>RequestContext.Properties</c>, as Serilog's real output shows it: a property set deep in a request's call chain is
/// on every later event of that request, the request-logging completion event included, and on no other request's.
/// </summary>
public sealed class RequestPropertiesTests
{
    private static Task<TestApp> StartAsync(SerilogOutput output, Action<RequestContextOptions>? options = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<global::Serilog.ILogger>());
                app.MapGet("/orders/{id:int}", async (int id, ILogger<RequestPropertiesTests> logger, IBackgroundWorkQueue jobs) =>
                {
                    logger.LogInformation("Before {Order}", id);
                    await SetDeepAsync(id);
                    await Task.Run(() => RequestContext.Properties.Set("child", $"child-{id}"));
                    logger.LogInformation("After {Order}", id);
                    await jobs.QueueAsync(_ =>
                    {
                        logger.LogInformation("Job {Order}", id);
                        return Task.CompletedTask;
                    });
                    return RequestContext.Properties.GetAll().Count;
                });
                app.MapGet("/limits", (ILogger<RequestPropertiesTests> logger) =>
                {
                    var results = new List<bool>();
                    for (var i = 0; i < 40; i++)
                    {
                        results.Add(RequestContext.Properties.Set($"p{i}", i));
                    }

                    results.Add(RequestContext.Properties.Set("p0", new string('x', 2000)));
                    results.Add(RequestContext.Properties.Set("evil\r\nname", "v"));
                    results.Add(RequestContext.Properties.Set("RequestId", "spoof"));
                    logger.LogInformation("Limits done");
                    return string.Join(",", results.Select(result => result ? 1 : 0));
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options);
                builder.Services.AddRequestContextBackgroundQueue();
                builder.Services.AddSerilog(logger => logger.MinimumLevel.Information().Enrich.WithRequestContext().WriteTo.Sink(output.Sink), preserveStaticLogger: true);
            },
            kestrel: true);

    private static async Task SetDeepAsync(int id)
    {
        await Task.Yield();
        await Task.Delay(1);
        RequestContext.Properties.Set("tenant", $"tenant-{id % 3}");
        RequestContext.Properties.Set("cart", id);
    }

    [Fact]
    public async Task A_property_set_deep_in_the_call_chain_is_on_every_later_event_of_its_request_and_on_no_other()
    {
        var output = new SerilogOutput();
        await using var app = await StartAsync(output);

        var counts = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => app.Client.GetStringAsync($"/orders/{i}")));
        await Wait.UntilAsync(() => output.Events().Count(e => Property(e, "@mt") == "Job {Order}") == 100, seconds: 20);

        Assert.All(counts, count => Assert.Equal("3", count));
        var mismatches = new List<string>();
        var events = output.Events();
        for (var i = 0; i < 100; i++)
        {
            var order = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var before = events.Single(e => Property(e, "@mt") == "Before {Order}" && Property(e, "Order") == order);
            var later = events.Where(e => Property(e, "Order") == order && Property(e, "@mt") != "Before {Order}")
                .Append(events.Single(e => Property(e, "RequestPath") == $"/orders/{i}" && Property(e, "@mt")!.StartsWith("HTTP", StringComparison.Ordinal)))
                .ToList();
            if (Property(before, "tenant") is not null || later.Count != 3)
            {
                mismatches.Add($"order {i}: {later.Count} later events, before has tenant {Property(before, "tenant")}");
            }

            foreach (var e in later)
            {
                if (Property(e, "tenant") != $"tenant-{i % 3}" || Property(e, "cart") != order || Property(e, "child") != $"child-{i}")
                {
                    mismatches.Add($"order {i}: {e}");
                }
            }
        }

        Assert.Empty(mismatches);
    }

    [Fact]
    public async Task Over_a_limit_a_property_is_dropped_and_one_warning_per_limit_names_the_limit_never_the_value()
    {
        var output = new SerilogOutput();
        await using var app = await StartAsync(output, options => options.Properties.MaxCount = 32);

        var results = await app.Client.GetStringAsync("/limits");

        Assert.Equal(string.Join(",", Enumerable.Repeat("1", 32).Concat(Enumerable.Repeat("0", 8 + 3))), results);
        var warnings = output.Events().Where(e => Property(e, "@mt")!.StartsWith("A request property was dropped", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, warnings.Count);
        var text = string.Join("\n", warnings.Select(e => e.ToString()));
        Assert.Contains("MaxCount", text, StringComparison.Ordinal);
        Assert.Contains("MaxValueLength", text, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxx", text, StringComparison.Ordinal);
        Assert.DoesNotContain("evil", text, StringComparison.Ordinal); // not "bad": the span ids are hex
        Assert.DoesNotContain("spoof", text, StringComparison.Ordinal);
        var done = Assert.Single(output.Events(), e => Property(e, "@mt") == "Limits done");
        Assert.Equal("0", Property(done, "p0"));
        Assert.Null(Property(done, "p32"));
        Assert.NotEqual("spoof", Property(done, "RequestId"));
    }

    [Fact]
    public void Outside_a_request_Set_does_nothing()
    {
        Assert.False(RequestContext.Properties.Set("tenant", "t"));
        Assert.Empty(RequestContext.Properties.GetAll());
        Assert.False(RequestContext.Properties.TryGet("tenant", out _));
    }
}
