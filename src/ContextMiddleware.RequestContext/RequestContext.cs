using ContextMiddleware.AspNetCore.Internal.User;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The ambient variables of the current request (or message, or job): read them anywhere in the call chain, including
/// in tasks the request started and in work that outlives it.
/// </summary>
/// <remarks>
/// <para>
/// The values flow like any <see cref="ContextVar{T}"/>: through <see langword="await"/>, <c>Task.Run</c> and child
/// tasks, never from one request into another. <c>UseRequestContext()</c> sets them when the server starts a request,
/// before the first middleware runs, so every middleware and the server's own log records see them;
/// <see cref="IRequestContextPropagator"/> sets them for a message.
/// </para>
/// <para>
/// Outside a request <see cref="RequestId"/> and <see cref="Trace"/> are <see langword="null"/> and <see cref="User"/>
/// is an anonymous user.
/// </para>
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

    /// <summary>
    /// Gets the current request's properties: set one anywhere in the request's call chain, and every event the request
    /// writes afterwards carries it (see <see cref="RequestProperties"/>).
    /// </summary>
    public static RequestProperties Properties { get; } = new();
}
