using System.Security.Claims;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The user of the current request, readable anywhere in its call chain: inject it (handlers, controllers,
/// singletons and hosted services alike) or read <see cref="RequestContext.User"/>.
/// </summary>
/// <remarks>
/// <para>
/// Outside a request, and for anonymous requests, <see cref="IsAuthenticated"/> is <see langword="false"/> and
/// <see cref="Id"/> and <see cref="Name"/> are <see langword="null"/>. Work that outlives its request keeps the user
/// the request ended with, and never its <c>HttpContext</c>.
/// </para>
/// <para>
/// Each request's user is its own: an anonymous request's <see cref="Principal"/> is a new empty principal of that
/// request (a claim added to it is seen by that request alone), and outside any request every read of
/// <see cref="Principal"/> returns a new empty principal.
/// </para>
/// </remarks>
public interface ICurrentUser
{
    /// <summary>Gets a value indicating whether the request was authenticated by any scheme.</summary>
    bool IsAuthenticated { get; }

    /// <summary>
    /// Gets the user's id: the first claim found among <see cref="RequestContextOptions.UserIdClaimTypes"/>
    /// (default <c>sub</c>, then <see cref="ClaimTypes.NameIdentifier"/>); <see langword="null"/> when anonymous.
    /// </summary>
    string? Id { get; }

    /// <summary>
    /// Gets the user's name: the first claim found among <see cref="RequestContextOptions.UserNameClaimTypes"/>
    /// (default <c>name</c>, <see cref="ClaimTypes.Name"/>, then <c>preferred_username</c>).
    /// </summary>
    string? Name { get; }

    /// <summary>
    /// Gets the authenticated principal; when anonymous, an empty, unauthenticated principal of the request's own.
    /// </summary>
    ClaimsPrincipal Principal { get; }

    /// <summary>Determines whether the user is in a role.</summary>
    /// <param name="role">The role.</param>
    /// <returns><see langword="true"/> when the principal is in <paramref name="role"/>.</returns>
    bool IsInRole(string role);

    /// <summary>Returns the value of the first claim of a type.</summary>
    /// <param name="claimType">The claim type.</param>
    /// <returns>The claim's value, or <see langword="null"/>.</returns>
    string? FindFirstValue(string claimType);
}
