using System.Net.Http.Json;
using System.Security.Claims;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// A request's user is its own: whatever a request (or code outside any request) does to the principal it is handed,
/// no later request sees it. Each test uses claim values of its own and removes them at the end, so that a defect
/// never leaks into another test of the process.
/// </summary>
public class UserIsolationTests
{
    public enum Accessor
    {
        InjectedCurrentUser,
        RequestContextUser,
    }

    public static TheoryData<bool, Accessor> Cases => new()
    {
        { false, Accessor.InjectedCurrentUser },
        { false, Accessor.RequestContextUser },
        { true, Accessor.InjectedCurrentUser },
        { true, Accessor.RequestContextUser },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AnonymousRequest_AddingARoleToItsPrincipal_IsNotSeenByALaterAnonymousRequest(bool authenticationScheme, Accessor accessor)
    {
        var role = $"probe-role-{Guid.NewGuid():N}";
        var claimType = $"probe:claim:{Guid.NewGuid():N}";
        await using var app = await StartAsync(authenticationScheme, accessor);

        try
        {
            // Arrange: one anonymous request grants itself a role and a claim.
            var granted = await app.Client.GetFromJsonAsync<Seen>($"/grant?role={role}&claimType={claimType}");
            Assert.NotNull(granted);

            // Act: later anonymous requests, on the same connection and on fresh ones.
            var later = new List<Seen>();
            for (var i = 0; i < 3; i++)
            {
                later.Add((await app.Client.GetFromJsonAsync<Seen>($"/whoami?role={role}&claimType={claimType}"))!);
                using var fresh = new HttpClient { BaseAddress = app.BaseAddress };
                later.Add((await fresh.GetFromJsonAsync<Seen>($"/whoami?role={role}&claimType={claimType}"))!);
            }

            // Assert
            Assert.All(later, seen =>
            {
                Assert.False(seen.InRole, "a later anonymous request is in the role another request added to its principal");
                Assert.Null(seen.Claim);
                Assert.False(seen.IsAuthenticated);
                Assert.Null(seen.Id);
            });
        }
        finally
        {
            Clean(role, claimType);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CodeOutsideAnyRequest_MutatingTheAmbientPrincipal_DoesNotChangeWhatRequestsSee(bool authenticationScheme)
    {
        var role = $"probe-role-{Guid.NewGuid():N}";
        var claimType = $"probe:claim:{Guid.NewGuid():N}";
        await using var app = await StartAsync(authenticationScheme, Accessor.InjectedCurrentUser);

        try
        {
            // Arrange: code outside any request (a startup task, a test, a hosted service) mutates the principal it reads.
            Grant(RequestContext.User.Get().Principal, role, claimType);

            // Act
            var seen = await app.Client.GetFromJsonAsync<Seen>($"/whoami?role={role}&claimType={claimType}");

            // Assert
            Assert.NotNull(seen);
            Assert.False(seen.InRole, "a request is in the role that code outside any request added to its ambient principal");
            Assert.Null(seen.Claim);
            Assert.False(seen.IsAuthenticated);
        }
        finally
        {
            Clean(role, claimType);
        }
    }

    [Fact]
    public async Task AuthenticatedRequest_AddingARole_IsNotSeenByALaterAnonymousRequest()
    {
        var role = $"probe-role-{Guid.NewGuid():N}";
        var claimType = $"probe:claim:{Guid.NewGuid():N}";
        await using var app = await StartAsync(authenticationScheme: true, Accessor.InjectedCurrentUser);

        try
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/grant?role={role}&claimType={claimType}");
            request.Headers.Authorization = new("Bearer", Jwt.CreateToken("user-1", "Alice"));
            (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();

            var seen = await app.Client.GetFromJsonAsync<Seen>($"/whoami?role={role}&claimType={claimType}");

            Assert.NotNull(seen);
            Assert.False(seen.InRole);
            Assert.Null(seen.Claim);
            Assert.Null(seen.Id);
        }
        finally
        {
            Clean(role, claimType);
        }
    }

    private static Task<TestApp> StartAsync(bool authenticationScheme, Accessor accessor) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                if (authenticationScheme)
                {
                    app.UseAuthentication();
                }

                app.MapGet("/grant", (string role, string claimType, ICurrentUser user) =>
                {
                    var principal = accessor == Accessor.InjectedCurrentUser ? user.Principal : RequestContext.User.Get().Principal;
                    Grant(principal, role, claimType);
                    return Seen.Of(accessor == Accessor.InjectedCurrentUser ? user : RequestContext.User.Get(), role, claimType);
                });
                app.MapGet("/whoami", (string role, string claimType, ICurrentUser user) => Seen.Of(user, role, claimType));
            },
            authenticationScheme ? Jwt.AddJwtBearer : null,
            kestrel: true);

    private static void Grant(ClaimsPrincipal principal, string role, string claimType)
    {
        Claim[] claims = [new(ClaimTypes.Role, role), new(claimType, "granted")];
        if (principal.Identities.FirstOrDefault() is { } identity)
        {
            identity.AddClaims(claims);
        }
        else
        {
            principal.AddIdentity(new ClaimsIdentity(claims));
        }
    }

    /// <summary>Removes this test's claims from the principal code outside a request sees, should they have leaked there.</summary>
    private static void Clean(string role, string claimType)
    {
        foreach (var identity in RequestContext.User.Get().Principal.Identities)
        {
            foreach (var claim in identity.Claims.Where(c => c.Type == claimType || (c.Type == ClaimTypes.Role && c.Value == role)).ToList())
            {
                identity.TryRemoveClaim(claim);
            }
        }
    }

    public sealed record Seen(bool InRole, string? Claim, bool IsAuthenticated, string? Id)
    {
        public static Seen Of(ICurrentUser user, string role, string claimType) =>
            new(user.IsInRole(role), user.FindFirstValue(claimType), user.IsAuthenticated, user.Id);
    }
}
