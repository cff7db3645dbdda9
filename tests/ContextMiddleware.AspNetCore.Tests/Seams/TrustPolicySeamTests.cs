using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probes: a custom <see cref="IRequestContextTrustPolicy"/> must decide the same way on both paths (the
/// hosting hook, taken when a logging provider is on, and the outermost middleware, taken when hosting makes no
/// Activity), and a policy that throws must never cost the client its response: it fails closed (the value is not
/// trusted), is logged once at Error with the request's id, and the request goes on.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class TrustPolicySeamTests
{
    private const string CallerTraceId = "0af7651916cd43dd8448eb211c80319c";
    private const string CallerTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>Trusts values that come without an address (messages, per the interface's docs), never an HTTP caller.</summary>
    private sealed class MessagesOnlyPolicy : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) => remoteAddress is null;
    }

    private sealed class ThrowingPolicy(IncomingValue throwsFor) : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            value == throwsFor ? throw new InvalidOperationException("policy store unavailable") : true;
    }

    public sealed record Seen(string? RequestId, string TraceId, string? ActivityTraceId);

    [Theory]
    [InlineData(true)]  // a logging provider: hosting makes the Activity, the hosting hook begins the context
    [InlineData(false)] // no logging provider: the outermost middleware begins the context
    public async Task CustomPolicy_NotTrustingHttpCallers_TheirTraceparentIsNotContinued_OnEitherPath(bool logging)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/seen", () => new Seen(RequestContext.RequestId.Get(), RequestContext.Trace.Get()!.TraceId, Activity.Current?.TraceId.ToHexString()));
            },
            builder =>
            {
                builder.Services.AddSingleton<IRequestContextTrustPolicy, MessagesOnlyPolicy>();
                builder.Services.AddHttpContextAccessor();
            },
            kestrel: true,
            collectLogs: logging);
        var request = new HttpRequestMessage(HttpMethod.Get, "/seen");
        request.Headers.Add("traceparent", CallerTraceParent);
        request.Headers.Add("X-Request-ID", "req-from-untrusted-caller");

        var seen = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Seen>();

        // The policy says 127.0.0.1 is not trusted: its request id is replaced (it is, on both paths) ...
        Assert.NotEqual("req-from-untrusted-caller", seen!.RequestId);
        // ... and so must its traceparent be.
        Assert.True(
            seen.TraceId != CallerTraceId,
            $"logging={logging}: the untrusted caller chose the request's trace id (RequestContext.Trace={seen.TraceId}, Activity={seen.ActivityTraceId}); " +
            "hosting's extraction asked the policy about a caller with no address (IsTrusted(TraceContext, null)), which a policy that trusts messages answers true");
    }

    [Fact]
    public async Task CustomPolicy_WithoutHttpContextAccessor_UseRequestContextNamesTheFix()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            app => app.UseRequestContext(),
            builder => builder.Services.AddSingleton<IRequestContextTrustPolicy, MessagesOnlyPolicy>()));

        Assert.Contains("AddHttpContextAccessor()", failure.Message, StringComparison.Ordinal);
        Assert.Contains(nameof(MessagesOnlyPolicy), failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CustomPolicy_ThrowingForTraceContext_FailsClosed_OneErrorRecord_TheRequestGoesOn(bool logging)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => new Seen(RequestContext.RequestId.Get(), RequestContext.Trace.Get()!.TraceId, Activity.Current?.TraceId.ToHexString()));
            },
            builder =>
            {
                builder.Services.AddSingleton<IRequestContextTrustPolicy>(new ThrowingPolicy(IncomingValue.TraceContext));
                builder.Services.AddHttpContextAccessor();
            },
            kestrel: true,
            collectLogs: logging);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("traceparent", CallerTraceParent);
        request.Headers.Add("X-Request-ID", "req-trace-policy-throws");

        HttpResponseMessage? response = null;
        Exception? failure = null;
        try
        {
            response = await app.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (HttpRequestException exception)
        {
            failure = exception;
        }

        Assert.True(
            response is not null,
            $"logging={logging}: the connection was dropped without any response ({failure?.GetType().Name}: {failure?.Message}; inner: {failure?.InnerException?.Message})");
        Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
        var seen = await response.Content.ReadFromJsonAsync<Seen>();
        Assert.NotEqual(CallerTraceId, seen!.TraceId); // not trusted: a new trace
        Assert.Equal("req-trace-policy-throws", seen.RequestId); // request ids are still trusted
        Assert.Equal(seen.RequestId, Assert.Single(response.Headers.GetValues("X-Request-ID")));
        if (logging)
        {
            await SeamSupport.WaitForRequestFinishedAsync(app);
            var errors = SeamSupport.Errors(app);
            var error = Assert.Single(errors);
            Assert.Equal("TrustPolicyFailed", error.EventId.Name);
            Assert.IsType<InvalidOperationException>(error.Exception);
            Assert.Equal("req-trace-policy-throws", error.RequestId);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task CustomPolicy_ThrowingForRequestIds_FailsClosed_OneErrorRecordWithTheFreshId(bool hostingLogs)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => RequestContext.RequestId.Get());
            },
            builder =>
            {
                builder.Services.AddSingleton<IRequestContextTrustPolicy>(new ThrowingPolicy(IncomingValue.RequestId));
                builder.Services.AddHttpContextAccessor();
                if (!hostingLogs)
                {
                    // Hosting then makes no Activity: the outermost middleware begins the context.
                    builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
                }
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-policy-throws");

        var response = await app.Client.SendAsync(request);
        var id = await response.Content.ReadAsStringAsync();
        await SeamSupport.WaitUntilAsync(() => SeamSupport.Errors(app).Count > 0);
        await Task.Delay(200);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotEqual("req-policy-throws", id);
        Assert.Equal(id, Assert.Single(response.Headers.GetValues("X-Request-ID")));
        var errors = SeamSupport.Errors(app);
        Assert.True(errors.Count == 1, $"one failure, {errors.Count} Error records: {SeamSupport.Describe(errors)}");
        Assert.Equal("TrustPolicyFailed", errors[0].EventId.Name);
        Assert.Equal(id, errors[0].RequestId);
        Assert.DoesNotContain("req-policy-throws", errors[0].Message, StringComparison.Ordinal);
    }
}
