namespace ContextMiddleware.Sample.Demo;

/// <summary>What the demo's client received.</summary>
internal sealed record DemoResponse(int Status, string? EchoedRequestId, string Body)
{
    public static async Task<DemoResponse> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var echoed = response.Headers.TryGetValues("X-Request-ID", out var values) ? string.Join(",", values) : null;
        return new DemoResponse((int)response.StatusCode, echoed, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    public override string ToString() => $"{Status}, X-Request-ID: {EchoedRequestId ?? "(none)"}, {Body}";
}
