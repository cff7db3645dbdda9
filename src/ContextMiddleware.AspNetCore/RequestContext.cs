using ContextMiddleware.AspNetCore.Internal;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The ambient variables that <c>UseRequestContext()</c> sets for every request: read them anywhere in the call
/// chain, including in tasks the request started and in work that outlives it.
/// </summary>
/// <remarks>
/// The values flow like any <see cref="ContextVar{T}"/>: through <see langword="await"/>, <c>Task.Run</c> and child
/// tasks, never from one request into another. Outside a request <see cref="RequestId"/> and
/// <see cref="Trace"/> are <see langword="null"/> and <see cref="User"/> is an anonymous user.
/// </remarks>
public static class RequestContext
{
    /// <summary>Gets the variable holding the current request id.</summary>
    public static ContextVar<string?> RequestId { get; } = new("RequestId", null);

    /// <summary>Gets the variable holding the id the caller sent when it was not trusted or not valid.</summary>
    public static ContextVar<string?> ClientRequestId { get; } = new("ClientRequestId", null);

    /// <summary>Gets the variable holding the current request's W3C trace context.</summary>
    public static ContextVar<TraceContext?> Trace { get; } = new("Trace", null);

    /// <summary>Gets the variable holding the current user; an anonymous user by default, never null.</summary>
    public static ContextVar<ICurrentUser> User { get; } = new("User", AnonymousUser.Instance);
}
