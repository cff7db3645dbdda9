using System.Security.Claims;

namespace ContextMiddleware.AspNetCore.Internal.User;

/// <summary>
/// The user outside a request: unauthenticated, no claims. Every read of <see cref="Principal"/> returns a new empty
/// principal, so that code outside requests can never change what another flow sees.
/// </summary>
internal sealed class AnonymousUser : ICurrentUser
{
    public static readonly AnonymousUser Instance = new();

    private AnonymousUser()
    {
    }

    public bool IsAuthenticated => false;

    public string? Id => null;

    public string? Name => null;

    public ClaimsPrincipal Principal => new(new ClaimsIdentity());

    public bool IsInRole(string role) => false;

    public string? FindFirstValue(string claimType) => null;

    public override string ToString() => "anonymous";
}
