using System.Security.Claims;

namespace ContextMiddleware.AspNetCore.Internal.User;

/// <summary>The injectable <see cref="ICurrentUser"/>: a singleton that reads <see cref="RequestContext.User"/>.</summary>
internal sealed class AmbientCurrentUser : ICurrentUser
{
    public bool IsAuthenticated => RequestContext.User.Get().IsAuthenticated;

    public string? Id => RequestContext.User.Get().Id;

    public string? Name => RequestContext.User.Get().Name;

    public ClaimsPrincipal Principal => RequestContext.User.Get().Principal;

    public bool IsInRole(string role) => RequestContext.User.Get().IsInRole(role);

    public string? FindFirstValue(string claimType) => RequestContext.User.Get().FindFirstValue(claimType);

    public override string ToString() => RequestContext.User.Get().ToString() ?? string.Empty;
}
