using System.Net.Http.Json;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probe. README: AddRequestContextPropagation() sends the id and the trace headers "only to
/// PropagationAllowedHosts ... other hosts get none at all". A client whose primary handler is an HttpClientHandler
/// (ConfigurePrimaryHttpMessageHandler for certificates or a proxy, a common setup) writes trace headers through the
/// runtime's global propagator, which the suite cannot keep from a host: such a request is refused with an error that
/// names the fix, rather than sent with the trace.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class AllowListSeamTests
{
    public sealed record Outcome(int? Status, string? Error);

    private static async Task<(Outcome Outcome, List<string> Lines, bool Reached)> CallAsync(Func<HttpMessageHandler> primary, params string[] allowedHosts)
    {
        await using var downstream = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    try
                    {
                        return new Outcome((int)(await factory.CreateClient("third-party").GetAsync("/seen")).StatusCode, null);
                    }
                    catch (InvalidOperationException exception)
                    {
                        return new Outcome(null, exception.Message);
                    }
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options =>
                {
                    foreach (var host in allowedHosts)
                    {
                        options.PropagationAllowedHosts.Add(host);
                    }
                });
                builder.Services.AddHttpClient("third-party", client => client.BaseAddress = downstream.BaseAddress)
                    .ConfigurePrimaryHttpMessageHandler(primary)
                    .AddRequestContextPropagation();
            },
            kestrel: true);

        var request = new HttpRequestMessage(HttpMethod.Get, "/call");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        var outcome = (await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Outcome>())!;
        var reached = downstream.Requests.TryGetValue("/seen", out var seen);
        var lines = (seen ?? [])
            .Where(line => line.Name is "traceparent" or "tracestate" or "X-Request-ID" || line.Name.Equals("Request-Id", StringComparison.OrdinalIgnoreCase))
            .Select(line => $"{line.Name}: {line.Value}")
            .ToList();
        return (outcome, lines, reached);
    }

    [Fact]
    public async Task HostOutsideTheAllowList_WithAnHttpClientHandler_IsRefusedWithTheFix_NeverSentTheTrace()
    {
        var (outcome, lines, reached) = await CallAsync(() => new HttpClientHandler { UseCookies = false }, "api.internal.example");

        Assert.False(reached, $"a host outside the allow-list was called through an HttpClientHandler: {string.Join("; ", lines)}");
        Assert.NotNull(outcome.Error);
        Assert.Contains("SocketsHttpHandler", outcome.Error, StringComparison.Ordinal);
        Assert.Contains("PropagationAllowedHosts", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostOutsideTheAllowList_WithASocketsHttpHandler_GetsNoTraceHeaders()
    {
        var (outcome, lines, reached) = await CallAsync(() => new SocketsHttpHandler { UseCookies = false }, "api.internal.example");

        Assert.Equal(200, outcome.Status);
        Assert.True(reached);
        Assert.True(lines.Count == 0, $"a host outside the allow-list received: {string.Join("; ", lines)}");
    }

    [Fact]
    public async Task AllowedHost_WithAnHttpClientHandler_GetsTheContext()
    {
        var (outcome, lines, _) = await CallAsync(() => new HttpClientHandler { UseCookies = false }, "127.0.0.1");

        Assert.Equal(200, outcome.Status);
        Assert.Contains(lines, line => line.StartsWith("X-Request-ID: ", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("traceparent: 00-0af7651916cd43dd8448eb211c80319c-", StringComparison.Ordinal));
    }
}
