using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace ContextMiddleware.Sample;

/// <summary>
/// Mints development tokens with the key of <c>Authentication:Schemes:Bearer</c> (appsettings.Development.json), the
/// key <c>AddJwtBearer()</c> validates with. <c>POST /dev/token?user=alice</c> exists in Development only.
/// </summary>
internal sealed class DevTokenIssuer(IConfiguration configuration, IHostEnvironment environment)
{
    private const string Section = "Authentication:Schemes:Bearer";

    public string Issue(string userId, string name)
    {
        if (!environment.IsDevelopment())
        {
            throw new InvalidOperationException("Development tokens are minted in the Development environment only.");
        }

        var bearer = configuration.GetSection(Section);
        var issuer = bearer["ValidIssuer"]
            ?? throw new InvalidOperationException($"{Section}:ValidIssuer is not set (see appsettings.Development.json).");
        var audience = bearer.GetSection("ValidAudiences").GetChildren().FirstOrDefault()?.Value
            ?? throw new InvalidOperationException($"{Section}:ValidAudiences is not set (see appsettings.Development.json).");
        var key = bearer.GetSection("SigningKeys").GetChildren().FirstOrDefault(k => k["Issuer"] == issuer)?["Value"]
            ?? throw new InvalidOperationException($"{Section}:SigningKeys has no key for issuer '{issuer}'.");

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim("sub", userId), new Claim("name", name), new Claim("role", "customer")]),
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Convert.FromBase64String(key)), SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary><c>POST /dev/token?user=alice&amp;name=Alice</c>: the token as plain text, for <c>curl</c>.</summary>
    public static Results<ContentHttpResult, ValidationProblem> Endpoint(DevTokenIssuer issuer, string? user, string? name)
    {
        user ??= "alice";
        name ??= DefaultName(user);
        if (!IsPlain(user) || !IsPlain(name))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["user"] = ["user and name: 1 to 32 ASCII letters, digits, '-', '_' or '.'."],
            });
        }

        return TypedResults.Text(issuer.Issue(user, name));
    }

    /// <summary>The name a token gets when none is given: the user id, capitalised (alice: Alice).</summary>
    public static string DefaultName(string userId) =>
        userId.Length > 0 ? char.ToUpperInvariant(userId[0]) + userId[1..] : userId;

    private static bool IsPlain(string value) =>
        value.Length is > 0 and <= 32 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
