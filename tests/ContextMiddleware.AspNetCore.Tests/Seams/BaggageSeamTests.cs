using System.Diagnostics;
using System.Net.Http.Json;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Review probe: an untrusted caller's baggage, in either header the runtime reads, never reaches the request.</summary>
[Collection(ActivityListenerCollection.Name)]
public class BaggageSeamTests
{
    public sealed record Seen(string Baggage, string? CorrelationContextHeader);

    [Theory]
    [InlineData("baggage")]
    [InlineData("Correlation-Context")]
    public async Task UntrustedCaller_BaggageOnly_IsNotTakenIntoTheActivity(string header)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/seen", (HttpContext context) => new Seen(
                    string.Join(",", Activity.Current?.Baggage.Select(item => $"{item.Key}={item.Value}") ?? []),
                    context.Request.Headers["Correlation-Context"].ToString()));
            },
            builder => builder.Services.AddRequestContext(options => options.IncomingTraceContext = RequestContextTrust.Ignore),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/seen");
        request.Headers.TryAddWithoutValidation(header, "tenant=evil");

        var seen = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Seen>();

        Assert.DoesNotContain("tenant", seen!.Baggage, StringComparison.Ordinal);
        Assert.True(string.IsNullOrEmpty(seen.CorrelationContextHeader), "the untrusted Correlation-Context header was left on the request");
    }

    [Fact]
    public async Task UntrustedCaller_CorrelationContextHeader_IsNotPropagatedToDownstreamServices()
    {
        await using var downstream = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) => (await factory.CreateClient("downstream").GetAsync("/seen")).StatusCode);
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.IncomingTraceContext = RequestContextTrust.Ignore);
                builder.Services.AddHttpClient("downstream", client => client.BaseAddress = downstream.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/call");
        request.Headers.TryAddWithoutValidation("Correlation-Context", "tenant=evil,role=admin");

        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();

        var lines = downstream.Requests["/seen"].Where(line => line.Name.Equals("baggage", StringComparison.OrdinalIgnoreCase) || line.Name.Equals("Correlation-Context", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(lines.Count == 0, $"an untrusted caller's baggage reached the downstream service: {string.Join("; ", lines.Select(l => $"{l.Name}: {l.Value}"))}");
    }
}
