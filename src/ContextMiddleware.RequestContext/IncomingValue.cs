namespace ContextMiddleware.AspNetCore;

/// <summary>The values a caller can send that <see cref="IRequestContextTrustPolicy"/> decides on.</summary>
public enum IncomingValue
{
    /// <summary>The request id (<c>X-Request-ID</c>, or the headers of <see cref="RequestContextOptions.RequestIdHeaders"/>).</summary>
    RequestId,

    /// <summary>The W3C trace headers: <c>traceparent</c> and <c>tracestate</c>.</summary>
    TraceContext,

    /// <summary>
    /// The W3C <c>baggage</c> header (and the legacy <c>Correlation-Context</c>): the values of the app's registered
    /// baggage variables and the members passed on. A policy written before this value existed answers for it as it
    /// answers for <see cref="TraceContext"/> only if it was written that way: check how yours treats values it does
    /// not know.
    /// </summary>
    Baggage,

    /// <summary>
    /// The user id a message carries in <see cref="RequestContextOptions.MessageUserIdHeader"/> (messages only: an HTTP
    /// request's user is its authenticated principal, never a header). Believed as context, never as credentials: the
    /// message's <see cref="ICurrentUser"/> has the id but is not authenticated. The default policy answers for it as for
    /// <see cref="RequestId"/>. A policy written before this value existed answers for it as it answers for values it
    /// does not know: check yours.
    /// </summary>
    UserId,
}
