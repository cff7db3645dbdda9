using System.Net.Http.Json;
using System.Threading.Channels;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests;

public class PropagationTests
{
    [Fact]
    public async Task ServiceACallsServiceB_BSeesAsRequestIdAndTraceId_OnceEach()
    {
        await using var b = await StartServiceBAsync();
        await using var a = await StartServiceAAsync(b.BaseAddress);

        var request = new HttpRequestMessage(HttpMethod.Get, "/a");
        request.Headers.Add("X-Request-ID", "req-from-client");
        var result = await (await a.Client.SendAsync(request)).Content.ReadFromJsonAsync<AView>();

        Assert.Equal("req-from-client", result!.RequestId);
        Assert.Equal("req-from-client", result.B.RequestIdHeader);
        Assert.Equal("req-from-client", result.B.RequestId);
        Assert.Equal(result.TraceId, result.B.TraceId);
        Assert.Matches($"^00-{result.TraceId}-[0-9a-f]{{16}}-0[01]$", result.B.TraceParentHeader);
        Assert.NotEqual(result.SpanId, result.B.SpanId);
    }

    [Fact]
    public async Task ExplicitHeaders_AreNotDuplicated()
    {
        await using var b = await StartServiceBAsync();
        await using var a = await StartServiceAAsync(b.BaseAddress, setExplicitHeader: true);

        var result = await a.Client.GetFromJsonAsync<AView>("/a");

        Assert.Equal("explicit-id", result!.B.RequestIdHeader);
        Assert.DoesNotContain(",", result.B.TraceParentHeader, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostOutsideTheAllowList_GetsNeitherTheRequestIdNorTraceHeaders()
    {
        await using var b = await StartServiceBAsync();
        await using var a = await StartServiceAAsync(b.BaseAddress, allowedHost: "*.internal.example");

        var result = await a.Client.GetFromJsonAsync<AView>("/a");

        Assert.Equal(string.Empty, result!.B.RequestIdHeader);
        Assert.Equal(string.Empty, result.B.TraceParentHeader);
        Assert.NotEqual(result.RequestId, result.B.RequestId);
        Assert.NotEqual(result.TraceId, result.B.TraceId);
    }

    [Fact]
    public async Task HostInTheAllowList_GetsTheHeaders()
    {
        await using var b = await StartServiceBAsync();
        await using var a = await StartServiceAAsync(b.BaseAddress, allowedHost: "127.0.0.1");

        var result = await a.Client.GetFromJsonAsync<AView>("/a");

        Assert.Equal(result!.RequestId, result.B.RequestIdHeader);
        Assert.Equal(result.TraceId, result.B.TraceId);
    }

    [Fact]
    public async Task MessageQueue_InjectAndExtract_CarryTheContextToTheConsumer()
    {
        var queue = Channel.CreateUnbounded<(Dictionary<string, string> Headers, string Body)>();
        await using var app = await TestApp.StartAsync(app =>
        {
            app.UseRequestContext();
            app.MapPost("/publish", async (IRequestContextPropagator propagator) =>
            {
                var headers = new Dictionary<string, string>();
                propagator.Inject(headers);
                await queue.Writer.WriteAsync((headers, "order-1"));
                return new[] { RequestContext.RequestId.Get(), RequestContext.Trace.Get()!.TraceId, RequestContext.Trace.Get()!.SpanId };
            });
        });
        var propagator = app.App.Services.GetRequiredService<IRequestContextPropagator>();

        var request = new HttpRequestMessage(HttpMethod.Post, "/publish");
        request.Headers.Add("X-Request-ID", "req-queued");
        var published = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<string[]>();
        var message = await queue.Reader.ReadAsync();
        var context = propagator.Extract(message.Headers);
        var seen = await context.Run(async () =>
        {
            await Task.Yield();
            return (RequestContext.RequestId.Get(), RequestContext.Trace.Get());
        });

        Assert.Equal("req-queued", seen.Item1);
        Assert.Equal(published![1], seen.Item2!.TraceId);
        Assert.Equal(published[2], seen.Item2.ParentSpanId);
        Assert.Null(RequestContext.RequestId.Get()); // the consumer's own context is untouched
    }

    [Fact]
    public async Task MessageQueue_InvalidHeaders_GetFreshValues()
    {
        await using var app = await TestApp.StartAsync(app => app.UseRequestContext());
        var propagator = app.App.Services.GetRequiredService<IRequestContextPropagator>();

        var context = propagator.Extract(new Dictionary<string, string>
        {
            ["X-Request-ID"] = "bad;id",
            ["traceparent"] = "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        });

        var requestId = Assert.IsType<string>(context[RequestContext.RequestId]);
        Assert.Matches(RequestIdTests.GeneratedId(), requestId);
        Assert.Equal("bad;id", context[RequestContext.ClientRequestId]);
        var trace = Assert.IsType<TraceContext>(context[RequestContext.Trace]);
        Assert.NotEqual("00000000000000000000000000000000", trace.TraceId);
        Assert.Null(trace.ParentSpanId);
    }

    [Theory]
    [InlineData("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-future", "a=1,,b=2", true, "a=1,,b=2")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", "Bad=1", true, null)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-x", "a=1", false, null)]
    public async Task MessageQueue_TraceHeaders_FollowTheRecommendation(string traceParent, string traceState, bool continues, string? keptState)
    {
        await using var app = await TestApp.StartAsync(app => app.UseRequestContext());
        var propagator = app.App.Services.GetRequiredService<IRequestContextPropagator>();

        var context = propagator.Extract(new Dictionary<string, string> { ["traceparent"] = traceParent, ["tracestate"] = traceState });

        var trace = Assert.IsType<TraceContext>(context[RequestContext.Trace]);
        Assert.Equal(continues, trace.TraceId == "4bf92f3577b34da6a3ce929d0e0e4736");
        Assert.Equal(continues ? "00f067aa0ba902b7" : null, trace.ParentSpanId);
        Assert.Equal(keptState, trace.TraceState);
        if (continues)
        {
            Assert.EndsWith("-03", trace.ToString(), StringComparison.Ordinal); // sampled and random flags kept
        }
    }

    [Fact]
    public async Task BackgroundQueue_JobRunsAfterTheResponse_WithItsRequestsContext()
    {
        var done = new TaskCompletionSource<(string?, string?, string?)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var responded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapPost("/jobs", async (IBackgroundWorkQueue queue) =>
                {
                    await queue.QueueAsync(async _ =>
                    {
                        await responded.Task;
                        app.Services.GetRequiredService<ILogger<PropagationTests>>().LogInformation("Job ran");
                        done.SetResult((RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId, RequestContext.User.Get().Id));
                    });
                    return RequestContext.Trace.Get()!.TraceId;
                });
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                builder.Services.AddRequestContextBackgroundQueue();
            });

        var request = new HttpRequestMessage(HttpMethod.Post, "/jobs");
        request.Headers.Add("X-Request-ID", "req-job");
        request.Headers.Authorization = new("Bearer", Jwt.CreateToken("user-job", "J"));
        var traceId = await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync();
        responded.SetResult();
        var seen = await done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(("req-job", traceId, "user-job"), seen);
        var log = Assert.Single(app.Logs.Records, record => record.Message == "Job ran");
        Assert.Equal(("req-job", traceId, "user-job"), (log.RequestId, log.TraceId, log.UserId));
    }

    [Fact]
    public async Task BackgroundQueue_JobRunsUnderAChildActivityOfItsRequest_AndItsCallsStayInTheTrace()
    {
        await using var b = await StartServiceBAsync();
        var done = new TaskCompletionSource<(string? TraceId, string? ParentSpanId, string? Name, BView B)>(
            TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/jobs", async (IBackgroundWorkQueue queue, IHttpClientFactory factory) =>
                {
                    await queue.QueueAsync(async stopping =>
                    {
                        var activity = System.Diagnostics.Activity.Current;
                        var seen = (activity?.TraceId.ToHexString(), activity?.ParentSpanId.ToHexString(), activity?.OperationName);
                        var view = await factory.CreateClient("b").GetFromJsonAsync<BView>("/b", stopping);
                        done.SetResult((seen.Item1, seen.Item2, seen.Item3, view!));
                    });
                    return RequestContext.Trace.Get()!.ToString();
                });
            },
            builder =>
            {
                builder.Services.AddRequestContextBackgroundQueue();
                builder.Services.AddHttpClient("b", client => client.BaseAddress = b.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        var request = new HttpRequestMessage(HttpMethod.Post, "/jobs");
        request.Headers.Add("X-Request-ID", "req-job");
        var traceparent = await (await a.Client.SendAsync(request)).Content.ReadAsStringAsync();
        var (traceId, parentSpanId, name, view) = await done.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var requestTraceId = traceparent.Split('-')[1];
        var requestSpanId = traceparent.Split('-')[2];
        Assert.Equal(requestTraceId, traceId);                   // the job's Activity is in the request's trace,
        Assert.Equal(requestSpanId, parentSpanId);               // a child of the request's span
        Assert.Equal("ContextMiddleware.AspNetCore.BackgroundWork", name);
        Assert.Equal("req-job", view.RequestId);                 // its outgoing call carries the request's id
        Assert.Equal(requestTraceId, view.TraceId);              // and the request's trace
        Assert.Equal(requestTraceId, view.TraceParentHeader.Split('-')[1]);
    }

    private static Task<TestApp> StartServiceBAsync() =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/b", (HttpContext http) => new BView(
                    http.Request.Headers["X-Request-ID"].ToString(),
                    http.Request.Headers.TraceParent.ToString(),
                    RequestContext.RequestId.Get(),
                    RequestContext.Trace.Get()!.TraceId,
                    RequestContext.Trace.Get()!.SpanId));
            },
            kestrel: true);

    private static Task<TestApp> StartServiceAAsync(Uri serviceB, bool setExplicitHeader = false, string? allowedHost = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/a", async (IHttpClientFactory factory) =>
                {
                    var request = new HttpRequestMessage(HttpMethod.Get, "/b");
                    if (setExplicitHeader)
                    {
                        request.Headers.Add("X-Request-ID", "explicit-id");
                    }

                    var response = await factory.CreateClient("b").SendAsync(request);
                    var b = await response.Content.ReadFromJsonAsync<BView>();
                    return new AView(RequestContext.RequestId.Get(), RequestContext.Trace.Get()!.TraceId, RequestContext.Trace.Get()!.SpanId, b!);
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options =>
                {
                    if (allowedHost is not null)
                    {
                        options.PropagationAllowedHosts.Add(allowedHost);
                    }
                });
                builder.Services.AddHttpClient("b", client => client.BaseAddress = serviceB).AddRequestContextPropagation();
            },
            kestrel: true);

    public sealed record BView(string RequestIdHeader, string TraceParentHeader, string? RequestId, string TraceId, string SpanId);

    public sealed record AView(string? RequestId, string TraceId, string SpanId, BView B);
}
