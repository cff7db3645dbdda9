using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// Everything the middleware keeps for one request, in one allocation: the ids, the OnStarting callback state, the
/// request's <see cref="IHttpRequestIdentifierFeature"/> (so <c>TraceIdentifier</c> is the request id, and the
/// error boundary can find the request), and the request's <see cref="ICurrentUser"/>.
/// </summary>
/// <remarks>
/// As <see cref="ICurrentUser"/> it is a live view of <see cref="HttpContext.User"/> while the request runs (so that
/// authentication placed after <c>UseRequestContext()</c> is seen), frozen when the request ends, so that work
/// outliving the request keeps its user and never reads a recycled HttpContext.
/// </remarks>
internal sealed class RequestState(HttpContext context, RequestContextSettings settings)
    : ICurrentUser, IHttpRequestIdentifierFeature
{
    /// <summary>The OnStarting callback: echoes the request id, and writes <c>traceresponse</c> when asked to.</summary>
    public static readonly Func<object, Task> WriteResponseHeaders = static state =>
    {
        var request = (RequestState)state;
        var headers = request._context.Response.Headers;

        // Set, not appended: a re-executed pipeline (exception handler, status code pages) never duplicates them.
        if (request.Settings.ResponseHeader is { } header)
        {
            headers[header] = request.RequestId;
        }

        if (request.Settings.TraceResponse && request.Trace is { } trace)
        {
            headers[TraceHeaders.TraceResponse] = trace.ToString();
        }

        return Task.CompletedTask;
    };

    // Read for the user only until _frozen is set (see Principal); OnStarting uses it during the request.
    private readonly HttpContext _context = context;
    private ClaimsPrincipal? _frozen;
    private Identity? _identity;
    private string? _traceIdentifier;

    public RequestContextSettings Settings { get; } = settings;

    public string RequestId { get; set; } = string.Empty;

    public string? ClientRequestId { get; set; }

    public TraceContext? Trace { get; set; }

    /// <summary>The request's TraceIdentifier: the request id unless someone sets another.</summary>
    public string TraceIdentifier
    {
        get => _traceIdentifier ?? RequestId;
        set => _traceIdentifier = value;
    }

    public ClaimsPrincipal Principal
    {
        get
        {
            if (Volatile.Read(ref _frozen) is { } frozen)
            {
                return frozen;
            }

            ClaimsPrincipal principal;
            try
            {
                principal = UserOf(_context);
            }
            catch (ObjectDisposedException)
            {
                // The request ended (and its HttpContext was recycled) between the two reads: Freeze() ran first.
                return Volatile.Read(ref _frozen)!;
            }

            // The HttpContext is recycled only after Freeze() has set _frozen: if _frozen is still unset after the
            // read, the principal was read from this request's HttpContext.
            return Volatile.Read(ref _frozen) ?? principal;
        }
    }

    public bool IsAuthenticated
    {
        get
        {
            foreach (var identity in Principal.Identities)
            {
                if (identity.IsAuthenticated)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public string? Id => Resolve().Id;

    public string? Name => Resolve().Name;

    public bool IsInRole(string role) => Principal.IsInRole(role);

    public string? FindFirstValue(string claimType) => Principal.FindFirst(claimType)?.Value;

    /// <summary>Called when the request ends: keep the principal, drop the HttpContext.</summary>
    public void Freeze()
    {
        if (Volatile.Read(ref _frozen) is null)
        {
            Volatile.Write(ref _frozen, UserOf(_context));
        }
    }

    /// <summary>
    /// <see cref="HttpContext.User"/> without its side effect: for a request nobody authenticated, the getter
    /// creates an empty principal and an authentication feature; the shared anonymous principal does as well.
    /// </summary>
    private static ClaimsPrincipal UserOf(HttpContext context) =>
        context.Features.Get<IHttpAuthenticationFeature>()?.User ?? AnonymousUser.Instance.Principal;

    public override string ToString() => Id ?? "anonymous";

    private Identity Resolve()
    {
        var principal = Principal;
        var identity = Volatile.Read(ref _identity);
        if (identity is null || !ReferenceEquals(identity.Principal, principal))
        {
            var authenticated = IsAuthenticated;
            identity = new Identity(
                principal,
                authenticated ? FindFirst(principal, Settings.UserIdClaimTypes) : null,
                authenticated ? FindFirst(principal, Settings.UserNameClaimTypes) : null);
            Volatile.Write(ref _identity, identity);
        }

        return identity;
    }

    private static string? FindFirst(ClaimsPrincipal principal, string[] claimTypes)
    {
        foreach (var claimType in claimTypes)
        {
            if (principal.FindFirst(claimType)?.Value is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }

    private sealed record Identity(ClaimsPrincipal Principal, string? Id, string? Name);
}
