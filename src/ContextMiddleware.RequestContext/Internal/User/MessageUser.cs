using System.Security.Claims;
using System.Text;
using ContextMiddleware.AspNetCore.Internal.Baggage;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore.Internal.User;

/// <summary>
/// The user of a message that carried a trusted user id (<see cref="RequestContextOptions.MessageUserIdHeader"/>): the id
/// as context, never as credentials. <see cref="IsAuthenticated"/> is <see langword="false"/>, the principal's one
/// identity is unauthenticated and holds the id under the first of <see cref="RequestContextOptions.UserIdClaimTypes"/>,
/// and no role is held. One per message: a claim added to its principal is seen by that message alone.
/// </summary>
internal sealed class MessageUser(string id, string idClaimType) : ICurrentUser
{
    /// <summary>The longest user id a message may carry, in characters once decoded.</summary>
    public const int MaxLength = 256;

    private ClaimsPrincipal? _principal;

    public bool IsAuthenticated => false;

    public string? Id => id;

    public string? Name => null;

    public ClaimsPrincipal Principal
    {
        get
        {
            if (Volatile.Read(ref _principal) is { } principal)
            {
                return principal;
            }

            // No authentication type: an identity with claims that nothing treats as signed in.
            var made = new ClaimsPrincipal(new ClaimsIdentity([new Claim(idClaimType, id)]));
            return Interlocked.CompareExchange(ref _principal, made, null) ?? made;
        }
    }

    public bool IsInRole(string role) => false;

    public string? FindFirstValue(string claimType) => Principal.FindFirst(claimType)?.Value;

    public override string ToString() => "message user (not authenticated)";

    /// <summary>The header value for the current user's id (percent-encoded UTF-8), or <see langword="null"/> when there is none to send.</summary>
    public static string? Encode(string? userId)
    {
        if (string.IsNullOrEmpty(userId) || userId.Length > MaxLength || Problem(userId) is not null)
        {
            return null;
        }

        if (W3CBaggage.IsPlain(userId))
        {
            return userId;
        }

        var builder = new StringBuilder(userId.Length + 16);
        W3CBaggage.AppendEncoded(builder, userId);
        return builder.ToString();
    }

    /// <summary>Reads a header value; a problem is described without the value.</summary>
    public static string? Decode(string value, out string? problem)
    {
        if (value.Length > MaxLength * 9)
        {
            problem = $"it is longer than {MaxLength} characters";
            return null;
        }

        if (!W3CBaggage.AreValueChars(value.AsSpan()) || !W3CBaggage.TryDecode(value, out var decoded))
        {
            problem = "it is not percent-encoded UTF-8";
            return null;
        }

        problem = decoded.Length == 0 ? "it is empty" : decoded.Length > MaxLength ? $"it is longer than {MaxLength} characters" : Problem(decoded);
        return problem is null ? decoded : null;
    }

    /// <summary>
    /// The one rule for a user id carried as context: no control characters and no U+FFFD (which also stands for invalid
    /// UTF-8 and, when enumerating, for a lone surrogate).
    /// </summary>
    private static string? Problem(string id)
    {
        foreach (var rune in id.EnumerateRunes())
        {
            if (Rune.IsControl(rune) || rune == Rune.ReplacementChar)
            {
                return "it holds control characters or invalid UTF-8";
            }
        }

        return null;
    }

    /// <summary>Makes the user of a message from its trusted header value.</summary>
    public static MessageUser Create(string id, RequestContextSettings settings) => new(id, settings.UserIdClaimTypes[0]);
}
