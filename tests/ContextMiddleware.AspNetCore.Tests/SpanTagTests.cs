using System.Diagnostics;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using OpenTelemetry.Trace;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// The request's server span as OpenTelemetry exports it: the request id always (so a trace backend can search by it);
/// the user id and the request's properties only when the app opts in.
/// </summary>
public sealed class SpanTagTests
{
    [Theory]
    [InlineData(RequestContextSpanTags.RequestId)]
    [InlineData(RequestContextSpanTags.RequestId | RequestContextSpanTags.UserId | RequestContextSpanTags.Properties)]
    [InlineData(RequestContextSpanTags.None)]
    public async Task The_server_span_carries_the_request_id_and_what_the_app_opted_in_to(RequestContextSpanTags tags)
    {
        var spans = new List<Activity>();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/order", async () =>
                {
                    await Task.Run(() => RequestContext.Properties.Set("tenant", "acme"));
                    return new[] { RequestContext.Trace.Get()!.TraceId, RequestContext.RequestId.Get()! };
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.SpanTags = tags);
                Jwt.AddJwtBearer(builder);
                builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddInMemoryExporter(spans));
            },
            kestrel: true);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/order");
        request.Headers.Authorization = new("Bearer", Jwt.CreateToken("user-span", "Span"));
        var ids = (await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<string[]>())!;
        var server = await WaitForServerSpanAsync(spans, ids[0]);

        Assert.Equal((tags & RequestContextSpanTags.RequestId) != 0 ? ids[1] : null, server.GetTagItem("request.id"));
        Assert.Equal((tags & RequestContextSpanTags.UserId) != 0 ? "user-span" : null, server.GetTagItem("user.id"));
        Assert.Equal((tags & RequestContextSpanTags.Properties) != 0 ? "acme" : null, server.GetTagItem("request.property.tenant"));
    }

    private static async Task<Activity> WaitForServerSpanAsync(List<Activity> spans, string traceId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            lock (spans)
            {
                if (spans.FirstOrDefault(span => span.Kind == ActivityKind.Server && span.TraceId.ToHexString() == traceId) is { } span)
                {
                    return span;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No exported server span has trace id {traceId}.");
    }
}
