using System.Net;
using ContextMiddleware.AspNetCore.Internal.User;
using System.Security.Claims;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// What a transport knows of one incoming live call (an HTTP request, a hub invocation, a gRPC call), for
/// <see cref="IRequestContextPropagator.BeginCall"/>: its headers, its caller's address, and its principal.
/// </summary>
/// <remarks>
/// The call's <see cref="ICurrentUser"/> reads <see cref="Principal"/> whenever it is asked for, also after the call
/// ended (from work the call started): a source should then answer the principal the call ended with, and let go of
/// anything the transport recycles (ContextMiddleware.AspNetCore's source lets go of the <c>HttpContext</c>).
/// </remarks>
public abstract class IncomingCallSource
{
    /// <summary>
    /// Gets the live call whose context is current: the source given to
    /// <see cref="IRequestContextPropagator.BeginCall"/>, wherever the call's context flows (its tasks, its background
    /// work); <see langword="null"/> outside calls, or where code replaced <see cref="RequestContext.User"/>. A transport
    /// uses it to find its own call again.
    /// </summary>
    /// <remarks>It is the call the current user reads its principal from: no variable of its own.</remarks>
    public static IncomingCallSource? Current => (RequestContext.User.Get() as SourceUser)?.Source;

    /// <summary>Gets the caller's address, for the trust policy; <see langword="null"/> when unknown.</summary>
    public abstract IPAddress? RemoteAddress { get; }

    /// <summary>Gets the call's current principal; <see langword="null"/> while nobody authenticated the call.</summary>
    public abstract ClaimsPrincipal? Principal { get; }

    /// <summary>Returns the values of one of the call's headers.</summary>
    /// <param name="name">The header's name.</param>
    /// <returns>Its values; <see cref="StringValues.Empty"/> when absent.</returns>
    public abstract StringValues GetHeader(string name);

    /// <summary>
    /// Gets the exception the trust policy threw when the transport asked it about this call's trace headers before
    /// the call began (ASP.NET Core's hosting reads them before any middleware runs), or <see langword="null"/> (the
    /// default); readable while the call runs. <see cref="IRequestContextPropagator.BeginCall"/> logs it inside the
    /// call's context, as the call's one
    /// record of a failing policy (event <c>TrustPolicyFailed</c>), so that a transport never logs a policy failure
    /// itself.
    /// </summary>
    public virtual Exception? TrustFailure => null;

    /// <summary>
    /// Gets which value the trust policy was asked about when it threw <see cref="TrustFailure"/>, for its record:
    /// <see cref="IncomingValue.TraceContext"/> (the default) or <see cref="IncomingValue.Baggage"/>.
    /// </summary>
    public virtual IncomingValue TrustFailureValue => IncomingValue.TraceContext;

    /// <summary>
    /// Gets what the transport adds to every log event written in the call's context, beside the request's ids and user
    /// (a hub invocation's hub, method and connection): as Microsoft.Extensions.Logging scope values and Serilog
    /// properties, read when each event is written. Empty by default. The values must be safe to log as they are
    /// (names the server chose, ids it validated), never raw input from the caller, and must not change.
    /// </summary>
    public virtual IReadOnlyList<KeyValuePair<string, string>> LogProperties => [];
}
