using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// The user of one request: a live view of <see cref="HttpContext.User"/> while the request runs (so that
/// authentication placed after <c>UseRequestContext()</c> is seen), frozen when the request ends, so that work
/// outliving the request keeps its user and never touches a recycled HttpContext.
/// </summary>
internal sealed class RequestUser(HttpContext httpContext, RequestContextSettings settings) : ICurrentUser
{
    private HttpContext? _httpContext = httpContext;
    private ClaimsPrincipal? _frozen;
    private Identity? _identity;

    public ClaimsPrincipal Principal
    {
        get
        {
            if (Volatile.Read(ref _frozen) is { } frozen)
            {
                return frozen;
            }

            if (Volatile.Read(ref _httpContext) is { } context)
            {
                var principal = context.User;

                // Freeze() writes _frozen before clearing _httpContext, and the HttpContext is recycled only after
                // Freeze(): if _httpContext is still set, the principal was read from this request's HttpContext.
                if (Volatile.Read(ref _httpContext) is not null)
                {
                    return principal;
                }
            }

            return Volatile.Read(ref _frozen)!;
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
        if (Volatile.Read(ref _httpContext) is { } context)
        {
            Volatile.Write(ref _frozen, context.User);
            Volatile.Write(ref _httpContext, null);
        }
    }

    public override string ToString() => Id ?? "anonymous";

    private Identity Resolve()
    {
        var principal = Principal;
        var identity = Volatile.Read(ref _identity);
        if (identity is null || !ReferenceEquals(identity.Principal, principal))
        {
            identity = new Identity(
                principal,
                IsAuthenticated ? FindFirst(principal, settings.UserIdClaimTypes) : null,
                IsAuthenticated ? FindFirst(principal, settings.UserNameClaimTypes) : null);
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
