using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Review probes: nothing crosses between requests that share a connection (HTTP/1.1 keep-alive, HTTP/2 streams).</summary>
[Collection(ActivityListenerCollection.Name)]
public class ConnectionReuseSeamTests
{
    public sealed record View(string? RequestId, string TraceIdentifier, string? User, string? TraceId, string? Call);

    private static Task<TestApp> StartAsync(bool logging, bool http2, bool reject = false) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/view", async (HttpContext context) =>
                {
                    await Task.Yield();
                    await Task.Delay(Random.Shared.Next(0, 3));
                    return new View(
                        RequestContext.RequestId.Get(),
                        context.TraceIdentifier,
                        RequestContext.User.Get().Id,
                        RequestContext.Trace.Get()?.TraceId,
                        IncomingCallSource.Current?.GetHeader("X-Probe").ToString());
                });
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                if (reject)
                {
                    builder.Services.AddRequestContext(options => options.RejectInvalidRequestIds = true);
                }

                if (http2)
                {
                    builder.WebHost.ConfigureKestrel(options => options.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
                }
            },
            kestrel: true,
            collectLogs: logging);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Http2_ManyConcurrentStreamsOnOneConnection_EachSeesOnlyItsOwnValues(bool logging)
    {
        await using var app = await StartAsync(logging, http2: true);
        using var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null, EnableMultipleHttp2Connections = false };
        using var client = new HttpClient(handler)
        {
            BaseAddress = app.BaseAddress,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var results = await Task.WhenAll(Enumerable.Range(0, 400).Select(async i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/view") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
            request.Headers.Add("X-Request-ID", $"h2-{i}");
            request.Headers.Add("X-Probe", $"probe-{i}");
            if (i % 3 == 0)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken($"user-{i}", "n"));
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpVersion.Version20, response.Version);
            var header = response.Headers.TryGetValues("X-Request-ID", out var values) ? string.Join(",", values) : null;
            return (i, header, view: (await response.Content.ReadFromJsonAsync<View>())!);
        }));

        foreach (var (i, header, view) in results)
        {
            Assert.Equal($"h2-{i}", view.RequestId);
            Assert.Equal($"h2-{i}", view.TraceIdentifier);
            Assert.Equal($"h2-{i}", header);
            Assert.Equal($"probe-{i}", view.Call);
            Assert.Equal(i % 3 == 0 ? $"user-{i}" : null, view.User);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task KeepAlive_RejectedAndAcceptedRequestsInterleaved_EachResponseCarriesItsOwnId(bool logging)
    {
        await using var app = await StartAsync(logging, http2: false, reject: true);
        using var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null, MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = app.BaseAddress };

        string? previousId = null;
        for (var i = 0; i < 60; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/view");
            var bad = i % 3 == 1;
            request.Headers.TryAddWithoutValidation("X-Request-ID", bad ? "bad id with spaces" : i % 3 == 0 ? $"ka-{i}" : string.Empty);
            if (i % 3 == 2)
            {
                request.Headers.Remove("X-Request-ID");
            }

            using var response = await client.SendAsync(request);
            var header = Assert.Single(response.Headers.GetValues("X-Request-ID"));
            Assert.NotEqual(previousId, header);
            previousId = header;
            if (bad)
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                continue;
            }

            var view = (await response.Content.ReadFromJsonAsync<View>())!;
            Assert.Equal(header, view.RequestId);
            Assert.Equal(header, view.TraceIdentifier);
            if (i % 3 == 0)
            {
                Assert.Equal($"ka-{i}", header);
            }
        }
    }
}
