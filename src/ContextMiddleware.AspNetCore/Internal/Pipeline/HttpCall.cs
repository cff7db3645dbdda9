using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// One request as the request context sees it (its <see cref="IncomingCallSource"/>): the request's
/// <see cref="ICurrentUser"/> reads the principal from it, until <see cref="End"/> keeps the last principal and lets go
/// of the <see cref="HttpContext"/> (which Kestrel recycles for the next request). <see cref="End"/> runs when hosting
/// stops the request's Activity, after the last record hosting writes for it, and when the outermost middleware
/// returns, whichever comes first; after it, the headers read as empty and the address as the one the request came from
/// (a SignalR long-polling connection outlives the request that started it, and is trusted for that caller's address). Holds whether the request must
/// be rejected for its request id.
/// </summary>
/// <remarks>
/// The principal is read from the authentication feature, so authentication that runs after the request began is seen,
/// and reading never creates <c>HttpContext.User</c> as a side effect; an anonymous request's user makes an empty
/// principal of its own when asked for one.
/// </remarks>
internal sealed class HttpCall(
    HttpContext context,
    Exception? trustFailure = null,
    StringValues originalBaggage = default,
    IncomingValue trustFailureValue = IncomingValue.TraceContext) : IncomingCallSource
{
    private HttpContext? _context = context;

    // Until End: the trust policy's failure while hosting read the trace headers (TrustFailure), and the baggage the
    // caller sent when hosting rewrote it (rare: a Start made only then); from End on: the principal the request ended
    // with. One field for all keeps the call small.
    private object? _final = originalBaggage.Count == 0 && trustFailureValue != IncomingValue.Baggage
        ? trustFailure
        : new Start(trustFailure, originalBaggage, trustFailureValue);

    /// <summary>Why the request must be rejected for its request id, or <see langword="null"/>.</summary>
    public string? Rejection { get; set; }

    /// <summary>The connection's address; once the request ended, the address it had when it ended.</summary>
    public override IPAddress? RemoteAddress =>
        TryRead(0, static (context, _) => context.Connection.RemoteIpAddress, out var address) ? address : Volatile.Read(ref _endAddress);

    private IPAddress? _endAddress;

    public override ClaimsPrincipal? Principal =>
        TryRead(0, static (context, _) => UserOf(context), out var principal) ? principal : Volatile.Read(ref _final) as ClaimsPrincipal;

    public override Exception? TrustFailure => Volatile.Read(ref _context) is null ? null : _final as Exception ?? (_final as Start)?.TrustFailure;

    public override IncomingValue TrustFailureValue =>
        (Volatile.Read(ref _final) as Start)?.TrustFailureValue == IncomingValue.Baggage ? IncomingValue.Baggage : IncomingValue.TraceContext;

    /// <summary>Whether this is the call of <paramref name="context"/>, not of an earlier request on the connection.</summary>
    public bool IsFor(HttpContext context) => ReferenceEquals(Volatile.Read(ref _context), context);

    /// <summary>
    /// A request header while the request runs (<c>baggage</c> as the caller sent it, when hosting rewrote it to the
    /// members kept); empty once it ended.
    /// </summary>
    public override StringValues GetHeader(string name)
    {
        if (!TryRead(name, static (context, name) => context.Request.Headers[name], out var values))
        {
            return StringValues.Empty;
        }

        return Volatile.Read(ref _final) is Start { } start && string.Equals(name, "baggage", StringComparison.OrdinalIgnoreCase) ? start.OriginalBaggage : values;
    }

    /// <summary>What the start of a request found that only its beginning needs.</summary>
    private sealed record Start(Exception? TrustFailure, StringValues OriginalBaggage, IncomingValue TrustFailureValue);

    /// <summary>The request ended: keep its last principal, drop the <see cref="HttpContext"/>.</summary>
    public void End()
    {
        if (Volatile.Read(ref _context) is { } context)
        {
            Volatile.Write(ref _final, UserOf(context));
            Volatile.Write(ref _endAddress, context.Connection.RemoteIpAddress);
            Volatile.Write(ref _context, null);
        }
    }

    /// <summary>
    /// Reads from the request while it runs. Kestrel recycles the <see cref="HttpContext"/> only after <see cref="End"/>
    /// let go of it: a value read while it is still held after the read is this request's; otherwise (or if the read
    /// met a recycled, disposed context) the request has ended and <see langword="false"/> is returned.
    /// </summary>
    private bool TryRead<TState, T>(TState state, Func<HttpContext, TState, T> read, out T value)
    {
        value = default!;
        if (Volatile.Read(ref _context) is not { } context)
        {
            return false;
        }

        try
        {
            value = read(context, state);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return Volatile.Read(ref _context) is not null;
    }

    // The indexer, not Get<T>(): a generic interface method costs a virtual lookup on every call.
    private static ClaimsPrincipal? UserOf(HttpContext context) =>
        (context.Features[typeof(IHttpAuthenticationFeature)] as IHttpAuthenticationFeature)?.User;

    /// <summary>The request's call, when its context has begun and is current.</summary>
    public static HttpCall? Of(HttpContext context) => Current is HttpCall call && call.IsFor(context) ? call : null;
}
