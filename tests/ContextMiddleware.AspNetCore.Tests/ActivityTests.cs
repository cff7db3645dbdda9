using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// RequestContext.Trace is the request Activity's ids; where hosting makes no Activity (no logging, no listener) the
/// trace ids are made without one.
/// </summary>
public class ActivityTests
{
    [Fact]
    public async Task Trace_AgreesWithTheRequestActivity()
    {
        var ids = await TraceOfAsync(logging: true);

        Assert.Equal("0af7651916cd43dd8448eb211c80319c", ids[0]);
        Assert.Equal(ids[0], ids[2]);
        Assert.Equal(ids[1], ids[3]);
        Assert.Equal(ids[2], ids[4]);
        Assert.Equal(ids[3], ids[5]);
        Assert.Equal("b7ad6b7169203331", ids[6]);
        Assert.Equal("True", ids[7]);
        Assert.Equal("congo=t61rcWkgMzE", ids[8]);
        Assert.Equal($"00-{ids[0]}-{ids[1]}-01", ids[9]);
    }

    [Fact]
    public async Task Trace_WithoutLoggingOrListener_ContinuesTheCallersTrace_WithoutAnActivity()
    {
        var ids = await TraceOfAsync(logging: false);

        // Nothing would read an Activity: none is made, and the trace ids are made without one.
        Assert.Equal("", ids[0]);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", ids[2]);
        Assert.Matches("^[0-9a-f]{16}$", ids[3]);
        Assert.NotEqual("b7ad6b7169203331", ids[3]);
        Assert.Equal(ids[2], ids[4]);
        Assert.Equal(ids[3], ids[5]);
        Assert.Equal("b7ad6b7169203331", ids[6]);
        Assert.Equal("True", ids[7]);
        Assert.Equal("congo=t61rcWkgMzE", ids[8]);
        Assert.Equal("", ids[9]);
    }

    private static async Task<string[]> TraceOfAsync(bool logging)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/trace", (HttpContext http, IRequestContext injected) =>
                {
                    var activity = Activity.Current;
                    var trace = RequestContext.Trace.Get()!;
                    return new[]
                    {
                        activity?.TraceId.ToHexString() ?? "", activity?.SpanId.ToHexString() ?? "", trace.TraceId, trace.SpanId,
                        injected.TraceId, injected.SpanId, trace.ParentSpanId ?? "", trace.Sampled.ToString(),
                        trace.TraceState ?? "", http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>()?.Activity?.Id ?? "",
                    };
                });
            },
            collectLogs: logging);

        var request = new HttpRequestMessage(HttpMethod.Get, "/trace");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("tracestate", "congo=t61rcWkgMzE");
        return (await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<string[]>())!;
    }

    [Fact]
    public async Task ProblemDetailsTraceId_AgreesWithTrace()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/problem", () => Results.Problem("x", statusCode: 400));
                app.MapGet("/trace", () => RequestContext.Trace.Get()!.ToString());
            },
            builder => builder.Services.AddProblemDetails());

        var request = new HttpRequestMessage(HttpMethod.Get, "/problem");
        request.Headers.Add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        var problem = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();

        var traceId = problem.GetProperty("traceId").GetString();
        Assert.StartsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-", traceId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoIncomingTraceparent_StartsANewTrace()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/trace", () => RequestContext.Trace.Get()!);
            });

        var first = await app.Client.GetFromJsonAsync<JsonElement>("/trace");
        var second = await app.Client.GetFromJsonAsync<JsonElement>("/trace");

        Assert.Matches("^[0-9a-f]{32}$", first.GetProperty("traceId").GetString());
        Assert.NotEqual(first.GetProperty("traceId").GetString(), second.GetProperty("traceId").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("parentSpanId").ValueKind);
    }
}
