using System.Net;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Configuration;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Review probes: reloads of TrustedNetworks.</summary>
public class OptionsReloadSeamTests
{
    [Fact]
    public async Task ReloadThatRemovesEveryTrustedNetwork_StopsTrustingTheRemovedNetwork()
    {
        var source = new ReplaceableConfigurationSource();
        source.Replace(new()
        {
            ["RequestContext:IncomingRequestIds"] = "TrustedNetworks",
            ["RequestContext:IncomingTraceContext"] = "Trust",
            ["RequestContext:TrustedNetworks:0"] = "127.0.0.0/8",
        });
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/id", () => RequestContext.RequestId.Get());
            },
            builder => ((IConfigurationBuilder)builder.Configuration).Add(source),
            kestrel: true);
        Assert.Equal("req-trusted", await IdOfAsync(app, "req-trusted"));

        // The operator revokes the trust of the only network (for example a compromised proxy).
        source.Replace(new()
        {
            ["RequestContext:IncomingRequestIds"] = "TrustedNetworks",
            ["RequestContext:IncomingTraceContext"] = "Trust",
        });
        await Task.Delay(200);

        var id = await IdOfAsync(app, "req-after-revocation");
        var reloadErrors = app.Logs.Records.Where(r => r.EventId.Name == "InvalidReload").Select(r => r.Message).ToList();
        Assert.True(
            id != "req-after-revocation",
            $"127.0.0.1 is still trusted after its network was removed from the configuration (fail-open); logged: [{string.Join(" | ", reloadErrors)}]");
    }

    private static async Task<string> IdOfAsync(TestApp app, string requestId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/id");
        request.Headers.Add("X-Request-ID", requestId);
        var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }
}
