using System.Security.Claims;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>The user outside a request: unauthenticated, no claims.</summary>
internal sealed class AnonymousUser : ICurrentUser
{
    public static readonly AnonymousUser Instance = new();

    private AnonymousUser()
    {
    }

    public bool IsAuthenticated => false;

    public string? Id => null;

    public string? Name => null;

    public ClaimsPrincipal Principal { get; } = new(new ClaimsIdentity());

    public bool IsInRole(string role) => false;

    public string? FindFirstValue(string claimType) => null;

    public override string ToString() => "anonymous";
}
