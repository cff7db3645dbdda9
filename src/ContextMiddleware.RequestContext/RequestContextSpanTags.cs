namespace ContextMiddleware.AspNetCore;

/// <summary>
/// What the request's server span (its Activity, as OpenTelemetry exports it) is tagged with, for
/// <see cref="RequestContextOptions.SpanTags"/>. Tags are written only when the span is recorded.
/// </summary>
[Flags]
public enum RequestContextSpanTags
{
    /// <summary>No tags.</summary>
    None = 0,

    /// <summary>The request id, as <c>request.id</c>, so that a trace backend can find the request's trace by it.</summary>
    RequestId = 1,

    /// <summary>The user id, as <c>user.id</c> (personal data: opt in).</summary>
    UserId = 2,

    /// <summary>The request's properties (<see cref="RequestContext.Properties"/>), each as <c>request.property.&lt;name&gt;</c>, as they are when the request ends (opt in: they can be personal data).</summary>
    Properties = 4,
}
