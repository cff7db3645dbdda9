using System.Net;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// TrustedNetworks and PropagationAllowedHosts follow configuration reloads; a reload that does not validate is logged
/// and ignored, and the lists in force stay.
/// </summary>
public class OptionsReloadTests
{
    [Fact]
    public async Task TrustedNetworks_FollowAReload_AndAnInvalidReloadIsLoggedAndFailsClosed()
    {
        await using var downstream = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/id", () => RequestContext.RequestId.Get());
                app.MapGet("/call/{name}", async (string name, IHttpClientFactory factory) =>
                    (await factory.CreateClient("downstream").GetAsync($"/seen-{name}")).StatusCode);
            },
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["RequestContext:IncomingRequestIds"] = "TrustedNetworks",
                    ["RequestContext:IncomingTraceContext"] = "Trust",
                    ["RequestContext:TrustedNetworks:0"] = "10.0.0.0/8",
                    ["RequestContext:PropagationAllowedHosts:0"] = "api.example.com",
                });
                builder.Services.AddHttpClient("downstream", client => client.BaseAddress = downstream.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        // 127.0.0.1 is not in 10.0.0.0/8, and 127.0.0.1 is not api.example.com.
        Assert.NotEqual("req-before", await IdOfAsync(app, "req-before"));
        await app.Client.GetAsync("/call/before");
        Assert.Empty(downstream.Values("/seen-before", "X-Request-ID"));

        Reload(app, "127.0.0.0/8", "127.0.0.1");
        Assert.Equal("req-after", await IdOfAsync(app, "req-after"));
        await app.Client.GetAsync("/call/after");
        Assert.Single(downstream.Values("/seen-after", "X-Request-ID"));

        // An invalid entry is left out: the valid ones (none here) are in force, so 127.0.0.1 is trusted no more. The
        // allowed host, valid, still applies.
        Reload(app, "not-a-network", "127.0.0.1");
        Assert.NotEqual("req-after-invalid", await IdOfAsync(app, "req-after-invalid"));
        var error = Assert.Single(app.Logs.Records, record => record.EventId.Name == "InvalidReload");
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Contains("not-a-network", error.Message, StringComparison.Ordinal);
        await app.Client.GetAsync("/call/after-invalid");
        Assert.Single(downstream.Values("/seen-after-invalid", "X-Request-ID"));

        // A host entry that is not valid leaves no host allowed (an empty list would allow every host).
        Reload(app, "127.0.0.0/8", "not a host");
        Assert.Equal("req-valid-again", await IdOfAsync(app, "req-valid-again"));
        await app.Client.GetAsync("/call/bad-host");
        Assert.Empty(downstream.Values("/seen-bad-host", "X-Request-ID"));
    }

    private static void Reload(TestApp app, string network, string host)
    {
        var configuration = (IConfigurationRoot)app.App.Configuration;
        var memory = configuration.Providers.OfType<MemoryConfigurationProvider>().Last();
        memory.Set("RequestContext:TrustedNetworks:0", network);
        memory.Set("RequestContext:PropagationAllowedHosts:0", host);
        configuration.Reload();
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
