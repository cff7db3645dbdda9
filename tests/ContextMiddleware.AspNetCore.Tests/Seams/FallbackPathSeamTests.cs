using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probes for what the README promises about the path where hosting makes no Activity, and about
/// AddRequestContext() without UseRequestContext().
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class FallbackPathSeamTests
{
    [Fact]
    public async Task LogUnhandledExceptionsOff_TheServersErrorRecordCarriesTheRequestId()
    {
        // README, options table: LogUnhandledExceptions "off: the server logs and answers it, without the header, and
        // its record carries the ids only when hosting made the request's Activity" (here: hosting's logging is on).
        // With hosting's category filtered out the outermost middleware begins the context, which ends when it
        // returns, before the server logs: that record then has no ids, as the README says.
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            builder => builder.Services.AddRequestContext(options => options.LogUnhandledExceptions = false),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-server-logs");

        var response = await app.Client.SendAsync(request);
        await SeamSupport.WaitUntilAsync(() => SeamSupport.ErrorsWithException(app).Count > 0);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var error = Assert.Single(SeamSupport.ErrorsWithException(app));
        Assert.True(error.RequestId == "req-server-logs", $"the server's Error record carries RequestId={error.RequestId ?? "null"}: {SeamSupport.Describe([error])}");
    }

    public sealed record Seen(string? TraceParentHeader, string? ActivityTraceId);

    [Fact]
    public async Task AddRequestContextWithoutUseRequestContext_LeavesTheRequestAsItIs()
    {
        // README: "UseRequestContext() not called | nothing changes in the pipeline (AddRequestContext() alone only
        // registers services, for example for HttpClient propagation)".
        await using var app = await TestApp.StartAsync(
            app => app.MapGet("/seen", (HttpContext context) => new Seen(context.Request.Headers.TraceParent.ToString(), Activity.Current?.TraceId.ToHexString())),
            builder => builder.Services.AddRequestContext(options => options.IncomingTraceContext = RequestContextTrust.Ignore),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/seen");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        var seen = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Seen>();

        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", seen!.TraceParentHeader);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", seen.ActivityTraceId);
    }
}
