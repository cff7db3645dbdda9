using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probe (issue 11, item 2: "every log event written while a request is processed carries its ids"): the
/// suite's own records about a request's trace headers.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class OwnRecordsSeamTests
{
    [Theory]
    [InlineData("UntrustedTraceContext", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", true)]
    [InlineData("InvalidTraceParent", "00-not-a-valid-traceparent", false)]
    public async Task TraceHeaderRecords_CarryTheRequestsId(string eventName, string traceParent, bool ignore)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => RequestContext.RequestId.Get());
            },
            builder => builder.Services.AddRequestContext(options => options.IncomingTraceContext = ignore ? RequestContextTrust.Ignore : RequestContextTrust.Trust),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        request.Headers.Add("X-Request-ID", "req-own-records");

        var id = await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync();
        await SeamSupport.WaitForRequestFinishedAsync(app);

        Assert.Equal("req-own-records", id);
        var record = Assert.Single(app.Logs.Records, r => r.EventId.Name == eventName);
        Assert.True(record.RequestId == "req-own-records", $"{eventName} is logged with RequestId={record.RequestId ?? "null"}");
    }
}
