using System.Net.Http.Json;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probe. README: "Trust is decided on the connection's own address, when the server starts the request ...
/// (UseForwardedHeaders() changes RemoteIpAddress only later, for the app)". ASP.NET Core puts forwarded-headers
/// middleware in front of the app's (through a startup filter the host registers before the app's services) when
/// ASPNETCORE_FORWARDEDHEADERS_ENABLED is true, as containers commonly set: the same configuration key turns it on here.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class ForwardedHeadersSeamTests
{
    public sealed record Seen(string? RequestId, string? RemoteIp);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ClientSpoofingXForwardedFor_IsNotTrustedWithItsRequestId(bool logging)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/seen", (HttpContext context) => new Seen(RequestContext.RequestId.Get(), context.Connection.RemoteIpAddress?.ToString()));
            },
            builder =>
            {
                builder.Configuration["ForwardedHeaders_Enabled"] = "true"; // ASPNETCORE_FORWARDEDHEADERS_ENABLED
                builder.Services.AddRequestContext(options =>
                {
                    options.IncomingRequestIds = RequestContextTrust.TrustedNetworks;
                    options.IncomingTraceContext = RequestContextTrust.Ignore;
                    options.TrustedNetworks.Add("10.0.0.0/8");
                });
            },
            kestrel: true,
            collectLogs: logging);
        var request = new HttpRequestMessage(HttpMethod.Get, "/seen");
        request.Headers.Add("X-Forwarded-For", "10.1.2.3");
        request.Headers.Add("X-Request-ID", "req-spoofed");

        var seen = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Seen>();

        Assert.Equal("10.1.2.3", seen!.RemoteIp); // the forwarded-headers middleware ran first
        Assert.True(seen.RequestId != "req-spoofed", $"logging={logging}: a client on 127.0.0.1 claiming X-Forwarded-For: 10.1.2.3 chose the request id");
    }
}
