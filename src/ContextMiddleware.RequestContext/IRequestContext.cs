namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The current request's context, injectable anywhere (it reads <see cref="RequestContext"/>'s ambient variables,
/// so a singleton sees the request it is called from).
/// </summary>
/// <remarks>Outside a request, the ids are empty strings and <see cref="User"/> is anonymous.</remarks>
public interface IRequestContext
{
    /// <summary>Gets the request id: the trusted, valid incoming id, or a fresh one. Echoed on the response.</summary>
    string RequestId { get; }

    /// <summary>
    /// Gets the id the caller sent when it was not trusted or not valid (but safe to log), so support can find the
    /// caller's id; otherwise <see langword="null"/>.
    /// </summary>
    string? ClientRequestId { get; }

    /// <summary>Gets the W3C trace id (32 lower-case hex characters) of the request's Activity.</summary>
    string TraceId { get; }

    /// <summary>Gets the W3C span id (16 lower-case hex characters) of the request's Activity.</summary>
    string SpanId { get; }

    /// <summary>Gets the current user.</summary>
    ICurrentUser User { get; }
}
