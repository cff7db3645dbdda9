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
/// claim added to it is seen by this call only.
/// </remarks>
internal sealed class SourceUser(IncomingCallSource source, RequestContextSettings settings) : ICurrentUser
{
    private ClaimsPrincipal? _anonymous;
    private Identity? _identity;

    public ClaimsPrincipal Principal => source.Principal ?? Anonymous();

    public bool IsAuthenticated => Resolve().IsAuthenticated;

    public string? Id => Resolve().Id;

    public string? Name => Resolve().Name;

    public bool IsInRole(string role) => Principal.IsInRole(role);

    public string? FindFirstValue(string claimType) => Principal.FindFirst(claimType)?.Value;

    public override string ToString() => Id ?? "anonymous";

    private ClaimsPrincipal Anonymous()
    {
        var anonymous = Volatile.Read(ref _anonymous);
        if (anonymous is null)
        {
            anonymous = new ClaimsPrincipal(new ClaimsIdentity());
            anonymous = Interlocked.CompareExchange(ref _anonymous, anonymous, null) ?? anonymous;
        }

        return anonymous;
    }

    private Identity Resolve()
    {
        var principal = source.Principal ?? Volatile.Read(ref _anonymous);
        var identity = Volatile.Read(ref _identity);
        if (identity is null || !ReferenceEquals(identity.Principal, principal))
        {
            var authenticated = principal is not null && IsAnyAuthenticated(principal);
            identity = new Identity(
                principal,
                authenticated,
                authenticated ? FindFirst(principal!, settings.UserIdClaimTypes) : null,
                authenticated ? FindFirst(principal!, settings.UserNameClaimTypes) : null);
            Volatile.Write(ref _identity, identity);
        }

        return identity;
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

    private sealed record Identity(ClaimsPrincipal? Principal, bool IsAuthenticated, string? Id, string? Name);
}
