using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace ContextMiddleware.Testing;

/// <summary>Real JWT bearer authentication with a symmetric test key.</summary>
public static class Jwt
{
    public const string Issuer = "https://tests.contextmiddleware";
    public const string Audience = "contextmiddleware-tests";
    private static readonly SymmetricSecurityKey Key = new(Encoding.UTF8.GetBytes("a-test-signing-key-of-at-least-256-bits-for-hs256!"));

    public static TokenValidationParameters ValidationParameters => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = Key,
    };

    public static void AddJwtBearer(WebApplicationBuilder builder) =>
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer(options => options.TokenValidationParameters = ValidationParameters);

    public static string CreateToken(string subject, string name, params string[] roles)
    {
        var claims = new List<Claim> { new("sub", subject), new("name", name) };
        claims.AddRange(roles.Select(role => new Claim("role", role)));
        var token = new JwtSecurityToken(
            Issuer, Audience, claims, expires: DateTime.UtcNow.AddMinutes(5),
            signingCredentials: new SigningCredentials(Key, SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
}
