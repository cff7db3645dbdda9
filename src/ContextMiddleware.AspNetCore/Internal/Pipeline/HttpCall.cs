using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// One request as the request context sees it (its <see cref="IncomingCallSource"/>), and the request feature that
/// says its context has begun: the request's <see cref="ICurrentUser"/> reads the principal from it, until
/// <see cref="End"/> keeps the last principal and lets go of the <see cref="HttpContext"/> (which Kestrel recycles for
/// the next request). Holds whether the request must be rejected for its request id.
/// </summary>
/// <remarks>
/// The principal is read from the authentication feature, so authentication that runs after the request began is seen,
/// and reading never creates <c>HttpContext.User</c> as a side effect; an anonymous request's user makes an empty
/// principal of its own when asked for one.
/// </remarks>
internal sealed class HttpCall(HttpContext context) : IncomingCallSource
{
    private HttpContext? _context = context;
    private ClaimsPrincipal? _final;

    /// <summary>The request's id, for its response.</summary>
    public string RequestId { get; set; } = string.Empty;

    /// <summary>The request's trace, for its <c>traceresponse</c>.</summary>
    public TraceContext? Trace { get; set; }


    /// <summary>The connection's address; read while the request begins.</summary>
    public override IPAddress? RemoteAddress => _context?.Connection.RemoteIpAddress;

    public override ClaimsPrincipal? Principal
    {
        get
        {
            if (Volatile.Read(ref _context) is not { } context)
            {
                return Volatile.Read(ref _final);
            }

            ClaimsPrincipal? principal;
            try
            {
                principal = UserOf(context);
            }
            catch (ObjectDisposedException)
            {
                // The request ended and its HttpContext was recycled between the two reads: End() ran first.
                return Volatile.Read(ref _final);
            }

            // The HttpContext is recycled only after End() let go of it: if it is still held after the read, the
            // principal was read from this request.
            return Volatile.Read(ref _context) is null ? Volatile.Read(ref _final) : principal;
        }
    }

    /// <summary>Whether this is the call of <paramref name="context"/>, not of an earlier request on the connection.</summary>
    public bool IsFor(HttpContext context) => ReferenceEquals(Volatile.Read(ref _context), context);

    /// <summary>A request header; read while the request begins.</summary>
    public override StringValues GetHeader(string name) => _context is { } context ? context.Request.Headers[name] : StringValues.Empty;

    /// <summary>The request ended: keep its last principal, drop the <see cref="HttpContext"/>.</summary>
    public void End()
    {
        if (Volatile.Read(ref _context) is { } context)
        {
            Volatile.Write(ref _final, UserOf(context));
            Volatile.Write(ref _context, null);
        }
    }

    private static ClaimsPrincipal? UserOf(HttpContext context) => context.Features.Get<IHttpAuthenticationFeature>()?.User;
}
