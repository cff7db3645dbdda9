using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// One request's link to its <see cref="HttpContext"/>, as a request feature: what the request's
/// <see cref="ICurrentUser"/> reads the principal from, until <see cref="End"/> keeps the last principal and lets go
/// of the <see cref="HttpContext"/> (which Kestrel recycles for the next request). Holds whether the request must be
/// rejected for its request id.
/// </summary>
/// <remarks>
/// The principal is read from the authentication feature, so authentication that runs after the request began is seen,
/// and reading never creates <c>HttpContext.User</c> as a side effect; an anonymous request's user makes an empty
/// principal of its own when asked for one.
/// </remarks>
internal sealed class HttpCall(HttpContext context)
{
    /// <summary>Reads the principal of a call: the delegate the request's <see cref="ICurrentUser"/> calls.</summary>
    public static readonly Func<HttpCall, ClaimsPrincipal?> ReadPrincipal = static call => call.Principal;

    private HttpContext? _context = context;
    private ClaimsPrincipal? _final;

    /// <summary>Why the request must be rejected, or <see langword="null"/>.</summary>
    public string? Rejection { get; set; }

    private ClaimsPrincipal? Principal
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
