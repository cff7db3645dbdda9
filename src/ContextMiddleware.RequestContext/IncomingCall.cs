using System.Runtime.InteropServices;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// What <see cref="IRequestContextPropagator.BeginCall"/> decided for an incoming call: the values it set in
/// <see cref="RequestContext"/>, and whether the call must be rejected.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct IncomingCall
{
    internal IncomingCall(string requestId, string? clientRequestId, TraceContext trace, ICurrentUser user, string? rejection)
    {
        RequestId = requestId;
        ClientRequestId = clientRequestId;
        Trace = trace;
        User = user;
        Rejection = rejection;
    }

    /// <summary>Gets the request id: the trusted, valid incoming one, or a fresh one.</summary>
    public string RequestId { get; }

    /// <summary>Gets the id the caller sent when it was not trusted or not valid, but safe to keep; otherwise <see langword="null"/>.</summary>
    public string? ClientRequestId { get; }

    /// <summary>Gets the call's trace context.</summary>
    public TraceContext Trace { get; }

    /// <summary>Gets the call's user.</summary>
    public ICurrentUser User { get; }

    /// <summary>
    /// Gets why the call must be rejected (an invalid request id from a trusted caller, with
    /// <see cref="RequestContextOptions.RejectInvalidRequestIds"/>), safe to show the caller: it names the header and
    /// the rule, never the value. <see langword="null"/> when the call goes ahead.
    /// </summary>
    public string? Rejection { get; }
}
