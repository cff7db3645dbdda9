namespace ContextMiddleware.AspNetCore;

/// <summary>The values a caller can send that <see cref="IRequestContextTrustPolicy"/> decides on.</summary>
public enum IncomingValue
{
    /// <summary>The request id (<c>X-Request-ID</c>, or the headers of <see cref="RequestContextOptions.RequestIdHeaders"/>).</summary>
    RequestId,

    /// <summary>The W3C trace headers: <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c>.</summary>
    TraceContext,
}
