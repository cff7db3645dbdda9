namespace ContextMiddleware.Sample.Demo;

/// <summary>One of the demo's requests: its X-Request-ID, the order it asks for, and its user (null: anonymous).</summary>
internal sealed record DemoRequest(string RequestId, int OrderId, string? UserId);
