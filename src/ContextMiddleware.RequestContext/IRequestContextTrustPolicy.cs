using System.Net;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The one decision about whose values are believed, used everywhere a value comes in: the trace headers ASP.NET Core's
/// hosting reads before any middleware, the request id of every HTTP request, and the headers of every message.
/// </summary>
/// <remarks>
/// <para>
/// The default policy follows <see cref="RequestContextOptions.IncomingRequestIds"/>,
/// <see cref="RequestContextOptions.IncomingTraceContext"/> and <see cref="RequestContextOptions.TrustedNetworks"/>
/// (which follows configuration reloads). Register your own implementation after <c>AddRequestContext()</c> to decide
/// another way; it is called on every request, so keep it fast and free of I/O.
/// </para>
/// <para>
/// The address is <see langword="null"/> only for values that came without a connection (messages); an HTTP request is
/// always asked about with its connection's address. ASP.NET Core's hosting reads a request's trace headers before any
/// middleware runs, and finds that address only through <c>IHttpContextAccessor</c>: with a policy of your own,
/// <c>UseRequestContext()</c> requires <c>builder.Services.AddHttpContextAccessor()</c> and says so when it is missing.
/// </para>
/// <para>
/// A policy that throws fails closed: the value is treated as not trusted (a fresh request id, a new trace), the
/// exception is logged at Error (event <c>TrustPolicyFailed</c>) with the call's ids, and the call goes on.
/// </para>
/// </remarks>
public interface IRequestContextTrustPolicy
{
    /// <summary>Decides whether <paramref name="value"/> sent by the caller at <paramref name="remoteAddress"/> is believed.</summary>
    /// <param name="value">The kind of value.</param>
    /// <param name="remoteAddress">The address of the connection; <see langword="null"/> for messages and unknown callers.</param>
    /// <returns><see langword="true"/> when a valid value from this caller is used.</returns>
    bool IsTrusted(IncomingValue value, IPAddress? remoteAddress);
}
