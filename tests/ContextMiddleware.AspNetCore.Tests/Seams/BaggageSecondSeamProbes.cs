using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using ContextMiddleware.AspNetCore.Tests.Baggage;
using ContextMiddleware.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Second-review probes of outgoing calls without an Activity (a temporary Activity tried there was reverted: these keep
/// it from coming back) and of BaggageWriter.Compose.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class BaggageSecondSeamProbes
{
    private const string CallerTraceId = "0af7651916cd43dd8448eb211c80319c";
    private const string CallerSpanId = "b7ad6b7169203331";

    // A. No Activity of the suite's around an outgoing call (a reverted temporary one was reported). An ActivityListener that
    //    listens to all sources (declining only hosting's, so that the request itself has no Activity) is told of none.
    [Fact]
    public async Task TemporaryOutgoingActivity_IsNotReportedToAnAllSourcesListener()
    {
        var started = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => !source.Name.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && source.Name != "ContextMiddleware.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = activity => started.Enqueue($"{activity.Source.Name}|{activity.OperationName}"),
        };
        ActivitySource.AddActivityListener(listener);

        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    var before = Activity.Current is null ? "none" : $"{Activity.Current.Source.Name}|{Activity.Current.OperationName}";
                    await factory.CreateClient("next").GetAsync("/next");
                    return before;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant"));
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: false);

        Assert.Equal("none", await (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme"))).Content.ReadAsStringAsync());

        Assert.True(
            !started.Any(name => name.EndsWith("|ContextMiddleware.RequestContext.OutgoingCall", StringComparison.Ordinal)),
            $"activities reported to the listener: [{string.Join(", ", started)}]");
    }

    // C. A request the app sent with its own traceparent keeps it on every hop of a redirect (as on main, where no
    //    Activity was made and the runtime did not touch the header).
    [Fact]
    public async Task AppsOwnTraceParent_FollowsARedirect()
    {
        const string AppTraceParent = "00-11111111111111111111111111111111-2222222222222222-01";
        await using var recorder = new HeaderRecorder();
        Uri? self = null;
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/redirect", () => Results.Redirect(new Uri(recorder.BaseAddress, "/seen").ToString()));
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(self!, "/redirect"));
                    request.Headers.TryAddWithoutValidation("traceparent", AppTraceParent);
                    return (int)(await factory.CreateClient("next").SendAsync(request)).StatusCode;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext();
                builder.Services.AddHttpClient("next").AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: false);
        self = app.BaseAddress;

        Assert.Equal("200", await (await app.Client.SendAsync(BaggageServices.Request("/call", null, $"00-{CallerTraceId}-{CallerSpanId}-01"))).Content.ReadAsStringAsync());

        Assert.Equal([AppTraceParent], recorder.Values("/seen", "traceparent"));
    }

    // D. Flags: the trace's sampled flag and the Level 2 random flag are passed on as before.
    [Theory]
    [InlineData("00")]
    [InlineData("01")]
    [InlineData("02")]
    [InlineData("03")]
    public async Task TraceFlags_ArePassedOn(string flags)
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    await factory.CreateClient("next").GetAsync("/next");
                    return "ok";
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext();
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: false);

        (await app.Client.SendAsync(BaggageServices.Request("/call", null, $"00-{CallerTraceId}-{CallerSpanId}-{flags}"))).EnsureSuccessStatusCode();

        var sent = Assert.Single(recorder.Values("/next", "traceparent"));
        Assert.StartsWith($"00-{CallerTraceId}-", sent);
        Assert.EndsWith($"-{flags}", sent);
    }

    // E. No leak into the caller's flow; many parallel calls each get a span of their own in the request's trace.
    [Fact]
    public async Task ParallelCalls_NoActivityLeak_DistinctParentIds()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    var client = factory.CreateClient("next");
                    await Task.WhenAll(Enumerable.Range(0, 32).Select(i => client.GetAsync($"/n{i}")));
                    return Activity.Current is null ? "none" : Activity.Current.OperationName;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext();
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: false);

        Assert.Equal("none", await (await app.Client.SendAsync(BaggageServices.Request("/call", null, $"00-{CallerTraceId}-{CallerSpanId}-01"))).Content.ReadAsStringAsync());
        var parents = Enumerable.Range(0, 32).Select(i => Assert.Single(recorder.Values($"/n{i}", "traceparent"))).ToList();
        Assert.All(parents, parent => Assert.StartsWith($"00-{CallerTraceId}-", parent));
        Assert.Equal(32, parents.Distinct().Count());
    }

    // F. TraceContext is public and unvalidated (its ToString copes with any ids). An app or transport that sets one
    //    whose ids are not lower-case W3C hex made outgoing calls carry it on main; now the call itself throws.
    [Theory]
    [InlineData("0AF7651916CD43DD8448EB211C80319C", "B7AD6B7169203331")] // upper-case hex
    [InlineData("00000000000000000000000000000000", "b7ad6b7169203331")] // all-zero trace id
    [InlineData("abc", "def")]
    public async Task OddTraceContext_DoesNotFailTheOutgoingCall(string traceId, string spanId)
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    RequestContext.Trace.Set(new TraceContext(traceId, spanId, null, true, null));
                    try
                    {
                        return (int)(await factory.CreateClient("next").GetAsync("/next")).StatusCode + "";
                    }
                    catch (Exception exception)
                    {
                        return exception.GetType().Name + ": " + exception.Message;
                    }
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext();
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: false);

        Assert.Equal("200", await (await app.Client.SendAsync(BaggageServices.Request("/call"))).Content.ReadAsStringAsync());
    }

    // G. The synchronous HttpClient.Send through AddRequestContextPropagation(): the request id and trace go too.
    [Fact]
    public async Task SynchronousSend_CarriesTheContext()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", (IHttpClientFactory factory) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, "/next");
                    return (int)factory.CreateClient("next").Send(request).StatusCode;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant"));
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: false);

        Assert.Equal("200", await (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme", $"00-{CallerTraceId}-{CallerSpanId}-01"))).Content.ReadAsStringAsync());
        var names = recorder.Requests["/next"].Select(line => line.Name.ToLowerInvariant()).ToList();
        Assert.True(names.Contains("traceparent") && names.Contains("baggage"), $"headers received: [{string.Join(", ", names)}]");
    }

    // H. A passed-on member the app removed from OpenTelemetry's Baggage.Current is not sent on.
    [Fact]
    public async Task PassedOnMember_RemovedFromOpenTelemetryBaggage_IsNotSent()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    var before = string.Join(",", OpenTelemetry.Baggage.Current.GetBaggage().Select(item => $"{item.Key}={item.Value}"));
                    OpenTelemetry.Baggage.RemoveBaggage("secret");
                    await factory.CreateClient("next").GetAsync("/next");
                    return before;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant"));
                builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation());
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        var before = await (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme,secret=1"))).Content.ReadAsStringAsync();

        Assert.Contains("secret=1", before, StringComparison.Ordinal);
        Assert.Equal(["tenant=acme"], recorder.Values("/next", "baggage"));
    }

    // I. Same, removed from the request's Activity.
    [Fact]
    public async Task PassedOnMember_RemovedFromTheActivity_IsNotSent()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    var before = string.Join(",", Activity.Current!.Baggage.Select(item => $"{item.Key}={item.Value}"));
                    Activity.Current!.SetBaggage("secret", null);
                    var after = string.Join(",", Activity.Current!.Baggage.Select(item => $"{item.Key}={item.Value}"));
                    await factory.CreateClient("next").GetAsync("/next");
                    return before + "|" + after;
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant"));
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        var seen = await (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme,secret=1"))).Content.ReadAsStringAsync();

        Assert.DoesNotContain("secret", seen.Split('|')[1], StringComparison.Ordinal);
        Assert.Equal(["tenant=acme"], recorder.Values("/next", "baggage"));
    }

    // J. The caller repeated a passed-on key; the app changed it: one member per key goes on.
    [Fact]
    public async Task RepeatedPassedOnKey_ChangedByTheApp_IsSentOnce()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    Activity.Current!.SetBaggage("other", "3");
                    await factory.CreateClient("next").GetAsync("/next");
                    return "ok";
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant"));
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme,other=1,other=2"))).EnsureSuccessStatusCode();

        var line = Assert.Single(recorder.Values("/next", "baggage"));
        Assert.True(line.Split(',').Count(member => member.StartsWith("other=", StringComparison.Ordinal)) == 1, $"baggage sent: {line}");
    }
}

internal static class TracerProviderExtensions
{
    public static Task ForceFlushAsyncCompat(this TracerProvider provider)
    {
        provider.ForceFlush();
        return Task.CompletedTask;
    }
}
