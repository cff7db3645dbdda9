using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// W3C <c>tracestate</c> validation: members split on <c>,</c> and trimmed of spaces and tabs; empty members allowed;
/// keys <c>[a-z0-9][a-z0-9_\-*/@]{0,255}</c>; values of 1 to 256 printable characters other than <c>,</c> and
/// <c>=</c>, not ending in a space; at most 32 members. Any invalid member invalidates the whole header, which is then
/// dropped. Valid headers are kept intact, whatever their length.
/// </summary>
internal static class TraceState
{
    public const int MaxMembers = 32;
    public const int MaxKeyLength = 256;
    public const int MaxValueLength = 256;

    /// <summary>Whether the (already combined) tracestate is valid.</summary>
    public static bool IsValid(ReadOnlySpan<char> value) => IsValid(value, out _);

    /// <summary>Whether the (already combined) tracestate is valid, and how many non-empty members it has.</summary>
    public static bool IsValid(ReadOnlySpan<char> value, out int members)
    {
        members = 0;
        while (true)
        {
            var comma = value.IndexOf(',');
            var member = Trim(comma < 0 ? value : value[..comma]);
            if (!member.IsEmpty)
            {
                if (++members > MaxMembers || !IsValidMember(member))
                {
                    return false;
                }
            }

            if (comma < 0)
            {
                return true;
            }

            value = value[(comma + 1)..];
        }
    }

    /// <summary>Combines repeated tracestate headers with <c>,</c>, as the recommendation requires.</summary>
    public static string? Combine(StringValues headers) => headers.Count == 0 ? null : headers.ToString();

    /// <summary>
    /// The tracestate to keep from (possibly repeated) header values: combined, or <see langword="null"/> when it is
    /// invalid or has no members.
    /// </summary>
    public static string? Validate(StringValues headers) =>
        Combine(headers) is { Length: > 0 } combined && IsValid(combined, out var members) && members > 0 ? combined : null;

    private static bool IsValidMember(ReadOnlySpan<char> member)
    {
        var equals = member.IndexOf('=');
        if (equals <= 0)
        {
            return false;
        }

        var key = member[..equals];
        var value = member[(equals + 1)..];
        return IsValidKey(key) && IsValidValue(value);
    }

    private static bool IsValidKey(ReadOnlySpan<char> key)
    {
        if (key.Length > MaxKeyLength || !(char.IsAsciiLetterLower(key[0]) || char.IsAsciiDigit(key[0])))
        {
            return false;
        }

        foreach (var c in key[1..])
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-' or '*' or '/' or '@'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidValue(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty || value.Length > MaxValueLength || value[^1] == ' ')
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is < ' ' or > '~' or ',' or '=')
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<char> Trim(ReadOnlySpan<char> member) => member.Trim(" \t");
}
