using System.Security.Claims;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore.Internal.User;

/// <summary>
/// The <see cref="ICurrentUser"/> of one call: reads the transport's principal whenever asked (so authentication that
/// runs after the call began is seen), and derives the id and name from the configured claim types, once per principal.
/// The transport's source decides what is read after the call ended (ContextMiddleware.AspNetCore keeps the last
/// principal and lets go of the <c>HttpContext</c>).
/// </summary>
/// <remarks>
/// An anonymous call's <see cref="Principal"/> is an empty principal made for this call alone, never a shared one: a
/// claim added to it is seen by this call only, and by this call until it is authenticated.
/// </remarks>
internal sealed class SourceUser(IncomingCallSource source, RequestContextSettings settings) : ICurrentUser
{
    // The principal last seen, what it makes of the user, and, for a call nobody authenticated, the empty principal of
    // the call's own that Principal returns (one object, so a request pays one field for all of it).
    private Identity? _identity;

    /// <summary>The call this user reads its principal from.</summary>
    public IncomingCallSource Source => source;

    public ClaimsPrincipal Principal
    {
        get
        {
            var principal = source.Principal;
            if (principal is null)
            {
                return OwnAnonymous();
            }

            // Once the call handed out its own anonymous principal, it stays the call's principal until someone
            // authenticates the call (the framework may make an empty principal of its own meanwhile, when
            // HttpContext.User is first read): a claim the call added to it is never lost.
            return Volatile.Read(ref _identity) is { OwnAnonymous: true } own && !IsAnyAuthenticated(principal) ? own.Principal! : principal;
        }
    }

    public bool IsAuthenticated => Resolve().IsAuthenticated;

    public string? Id => Resolve().Id;

    public string? Name => Resolve().Name;

    public bool IsInRole(string role) => Principal.IsInRole(role);

    public string? FindFirstValue(string claimType) => Principal.FindFirst(claimType)?.Value;

    public override string ToString() => Id ?? "anonymous";

    /// <summary>The call's own empty principal: made once, then the same object for every read.</summary>
    private ClaimsPrincipal OwnAnonymous()
    {
        var identity = Volatile.Read(ref _identity);
        while (true)
        {
            if (identity is { OwnAnonymous: true })
            {
                return identity.Principal!;
            }

            var created = new Identity(new ClaimsPrincipal(new ClaimsIdentity()), false, null, null, OwnAnonymous: true);
            var seen = Interlocked.CompareExchange(ref _identity, created, identity);
            if (ReferenceEquals(seen, identity))
            {
                return created.Principal!;
            }

            identity = seen;
        }
    }

    private Identity Resolve()
    {
        var principal = source.Principal;
        var identity = Volatile.Read(ref _identity);
        if (identity is not null &&
            (ReferenceEquals(identity.Principal, principal) || identity.OwnAnonymous && (principal is null || !IsAnyAuthenticated(principal))))
        {
            return identity;
        }

        var authenticated = principal is not null && IsAnyAuthenticated(principal);
        var resolved = new Identity(
            principal,
            authenticated,
            authenticated ? FindFirst(principal!, settings.UserIdClaimTypes) : null,
            authenticated ? FindFirst(principal!, settings.UserNameClaimTypes) : null,
            OwnAnonymous: false);

        // Never replace the call's own anonymous principal while the call is still anonymous.
        Interlocked.CompareExchange(ref _identity, resolved, identity);
        return resolved;
    }

    private static bool IsAnyAuthenticated(ClaimsPrincipal principal)
    {
        foreach (var identity in principal.Identities)
        {
            if (identity.IsAuthenticated)
            {
                return true;
            }
        }

        return false;
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

    private sealed record Identity(ClaimsPrincipal? Principal, bool IsAuthenticated, string? Id, string? Name, bool OwnAnonymous);
}
