using System.Text.Json;
using ContextMiddleware.Distributed.Api;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>What the demo's client received: the status, the echoed X-Request-ID and the API's answer.</summary>
internal sealed record DemoResponse(int Status, string? EchoedRequestId, string Body, OrderAccepted? Accepted)
{
    public static async Task<DemoResponse> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var echoed = response.Headers.TryGetValues("X-Request-ID", out var values) ? string.Join(",", values) : null;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        OrderAccepted? accepted = null;
        try
        {
            accepted = JsonSerializer.Deserialize<OrderAccepted>(body, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
        }

        return new DemoResponse((int)response.StatusCode, echoed, body, accepted);
    }

    public override string ToString() => $"{Status}, X-Request-ID: {EchoedRequestId ?? "(none)"}, {Body}";
}
