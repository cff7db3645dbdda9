using System.Buffers;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>
/// The W3C Baggage format (https://www.w3.org/TR/baggage/): the one parser and formatter of <c>baggage</c> headers.
/// </summary>
/// <remarks>
/// <para>
/// A header is a comma-separated list of members, <c>key=value</c> with optional properties (<c>;key=value</c> or
/// <c>;key</c>), optional whitespace (spaces and tabs) around every separator, and any number of header lines read as
/// one list. Keys and property keys are tokens (RFC 9110); values are baggage octets, percent-encoded beyond them, and
/// decode as UTF-8 with U+FFFD for invalid sequences. Empty list members (<c>a=1,,b=2</c>) are skipped.
/// </para>
/// <para>
/// A member that breaks the grammar (no <c>=</c>, a key that is not a token, a character outside the baggage octets,
/// a <c>%</c> not followed by two hex digits, a malformed property) is dropped on its own; the others are kept.
/// </para>
/// </remarks>
internal static class W3CBaggage
{
    /// <summary>The header's name.</summary>
    public const string HeaderName = "baggage";

    /// <summary>The size up to which every member must be propagated, in bytes (all lines together).</summary>
    public const int MaxBytes = 8192;

    // The same character classes as the table below (its one definition), for vectorised searches of whole spans.
    private static readonly SearchValues<char> s_tokenChars = CharsOf(TokenClass);
    private static readonly SearchValues<char> s_valueChars = CharsOf(ValueClass);

    /// <summary>The longest key a log record or a startup message shows; keys are tokens, so they are safe to show, but can be long.</summary>
    private const int MaxShownKeyLength = 64;

    /// <summary>A key as a log record or a startup message shows it: cut at 64 characters.</summary>
    public static string Shown(string key) =>
        key.Length <= MaxShownKeyLength ? key : string.Concat(key.AsSpan(0, MaxShownKeyLength), "…");

    /// <summary>Whether <paramref name="key"/> is a token: one or more of RFC 9110's <c>tchar</c>.</summary>
    public static bool IsToken(ReadOnlySpan<char> key) => !key.IsEmpty && !key.ContainsAnyExcept(s_tokenChars);

    /// <summary>Whether every character of <paramref name="value"/> is a <c>baggage-octet</c>.</summary>
    public static bool AreValueChars(ReadOnlySpan<char> value) => !value.ContainsAnyExcept(s_valueChars);

    /// <summary>Whether <paramref name="c"/> is a <c>baggage-octet</c>: printable ASCII but for <c>" , ; \</c> and space.</summary>
    public static bool IsValueChar(char c) => c < 128 && (Classes[c] & ValueClass) != 0;

    /// <summary>Whether <paramref name="c"/> is an RFC 9110 <c>tchar</c>.</summary>
    public static bool IsTokenChar(char c) => c < 128 && (Classes[c] & TokenClass) != 0;

    private const byte TokenClass = 1;
    private const byte ValueClass = 2;

    private static SearchValues<char> CharsOf(byte charClass)
    {
        var chars = new List<char>();
        for (var c = '\0'; c < 128; c++)
        {
            if ((Classes[c] & charClass) != 0)
            {
                chars.Add(c);
            }
        }

        return SearchValues.Create([.. chars]);
    }

    // The class of each ASCII character: 1 tchar, 2 baggage-octet (%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E).
    private static ReadOnlySpan<byte> Classes =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        // space ! " # $ % & ' ( ) * + , - . /
        0, 3, 0, 3, 3, 3, 3, 3, 2, 2, 3, 3, 0, 3, 3, 2,
        // 0-9 : ; < = > ?
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 0, 2, 2, 2, 2,
        // @ A-O
        2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
        // P-Z [ \ ] ^ _
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 0, 2, 3, 3,
        // ` a-o
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
        // p-z { | } ~ DEL
        3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,
    ];

    /// <summary>
    /// Decodes a member's value: percent-encoded octets as UTF-8, invalid sequences as U+FFFD. False when a <c>%</c> is
    /// not followed by two hex digits.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> value, out string decoded)
    {
        var percent = value.IndexOf('%');
        if (percent < 0)
        {
            decoded = value.ToString();
            return true;
        }

        byte[]? rented = null;
        var bytes = value.Length <= 256 ? stackalloc byte[value.Length] : (rented = ArrayPool<byte>.Shared.Rent(value.Length));
        try
        {
            var length = 0;
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '%')
                {
                    if (i + 2 >= value.Length || !char.IsAsciiHexDigit(value[i + 1]) || !char.IsAsciiHexDigit(value[i + 2]))
                    {
                        decoded = string.Empty;
                        return false;
                    }

                    bytes[length++] = (byte)((HexValue(value[i + 1]) << 4) | HexValue(value[i + 2]));
                    i += 2;
                }
                else
                {
                    bytes[length++] = (byte)c; // validated as ASCII by the parser
                }
            }

            decoded = Encoding.UTF8.GetString(bytes[..length]); // invalid UTF-8 becomes U+FFFD
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>Whether <paramref name="value"/> needs no percent-encoding (baggage octets other than <c>%</c>).</summary>
    public static bool IsPlain(ReadOnlySpan<char> value) => AreValueChars(value) && !value.Contains('%');

    /// <summary>
    /// Appends <paramref name="value"/> percent-encoded: every character outside the baggage octets, and <c>%</c>, as
    /// its UTF-8 octets (upper-case hex), as the recommendation and the .NET runtime's propagator do.
    /// </summary>
    public static void AppendEncoded(StringBuilder builder, string value)
    {
        if (IsPlain(value))
        {
            builder.Append(value);
            return;
        }

        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c != '%' && IsValueChar(c))
            {
                builder.Append(c);
                continue;
            }

            int count;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                count = new Rune(c, value[i + 1]).EncodeToUtf8(utf8);
                i++;
            }
            else
            {
                count = (Rune.TryCreate(c, out var rune) ? rune : Rune.ReplacementChar).EncodeToUtf8(utf8);
            }

            for (var j = 0; j < count; j++)
            {
                builder.Append('%').Append("0123456789ABCDEF"[utf8[j] >> 4]).Append("0123456789ABCDEF"[utf8[j] & 0xF]);
            }
        }
    }

    /// <summary>The members of one or more header lines, in order; see the remarks on the class.</summary>
    public static MemberReader Read(StringValues lines) => new(lines);

    /// <summary>Reads the members of <c>baggage</c> header lines one by one, without allocating for members it skips.</summary>
    internal struct MemberReader(StringValues lines)
    {
        private int _line;
        private int _position;

        /// <summary>How many members broke the grammar and were skipped.</summary>
        public int Malformed { get; private set; }

        /// <summary>Reads the next well-formed member; false at the end of the last line.</summary>
        public bool TryReadNext(out BaggageMember member)
        {
            while (_line < lines.Count)
            {
                var text = lines[_line] ?? string.Empty;
                if (_position > text.Length)
                {
                    _line++;
                    _position = 0;
                    continue;
                }

                var comma = text.AsSpan(_position).IndexOf(',');
                var end = comma < 0 ? text.Length : _position + comma;
                var start = _position;
                _position = end + 1;
                if (comma < 0)
                {
                    _position = text.Length + 1;
                }

                switch (BaggageMember.TryParse(text, start, end, out member))
                {
                    case ParseResult.Member:
                        return true;
                    case ParseResult.Malformed:
                        Malformed++;
                        break;
                }
            }

            member = default;
            return false;
        }
    }

    /// <summary>What parsing one list member found.</summary>
    internal enum ParseResult
    {
        Empty,
        Member,
        Malformed,
    }
}

/// <summary>One well-formed list member, as a range of the header line it came in (nothing copied).</summary>
internal readonly struct BaggageMember
{
    private readonly int _keyLength;
    private readonly int _valueStart;
    private readonly int _valueLength;

    private BaggageMember(string line, int start, int length, int keyLength, int valueStart, int valueLength, bool canonical)
    {
        Line = line;
        Start = start;
        Length = length;
        _keyLength = keyLength;
        _valueStart = valueStart;
        _valueLength = valueLength;
        Canonical = canonical;
    }

    /// <summary>The header line the member is part of.</summary>
    public string Line { get; }

    /// <summary>Where the member starts in <see cref="Line"/>, whitespace trimmed.</summary>
    public int Start { get; }

    /// <summary>The member's length in <see cref="Line"/>, whitespace trimmed.</summary>
    public int Length { get; }

    /// <summary>Whether the member has no whitespace inside, so that its text is already the form it is sent in.</summary>
    public bool Canonical { get; }

    /// <summary>The length of <see cref="ToCanonical"/>, in characters (and bytes: a member is ASCII).</summary>
    public int CanonicalLength => Canonical ? Length : ToCanonical().Length;

    public ReadOnlySpan<char> Key => Line.AsSpan(Start, _keyLength);

    /// <summary>The value as sent (percent-encoded).</summary>
    public ReadOnlySpan<char> EncodedValue => Line.AsSpan(_valueStart, _valueLength);

    /// <summary>The member's text as sent: key, value and properties, whitespace inside included.</summary>
    public ReadOnlySpan<char> Text => Line.AsSpan(Start, Length);

    /// <summary>The member in the form it is sent on: without whitespace around its separators, properties kept.</summary>
    public string ToCanonical()
    {
        if (Canonical)
        {
            return Text.ToString();
        }

        var builder = new StringBuilder(Length);
        builder.Append(Key).Append('=').Append(EncodedValue);
        var properties = Line.AsSpan(_valueStart + _valueLength, Start + Length - _valueStart - _valueLength);
        foreach (var range in properties.Split(';'))
        {
            var property = properties[range].Trim(" \t");
            if (property.IsEmpty)
            {
                continue;
            }

            var equals = property.IndexOf('=');
            builder.Append(';');
            if (equals < 0)
            {
                builder.Append(property);
            }
            else
            {
                builder.Append(property[..equals].TrimEnd(" \t")).Append('=').Append(property[(equals + 1)..].TrimStart(" \t"));
            }
        }

        return builder.ToString();
    }

    /// <summary>Parses <c>line[start..end]</c> as one list member.</summary>
    public static W3CBaggage.ParseResult TryParse(string line, int start, int end, out BaggageMember member)
    {
        // Most members are "key=value", with neither whitespace nor properties: checked with vectorised searches.
        var span = line.AsSpan(start, end - start);
        if (!span.IsEmpty && span.IndexOfAny(' ', '\t', ';') < 0)
        {
            var equals = span.IndexOf('=');
            if (equals > 0 && W3CBaggage.IsToken(span[..equals]))
            {
                var value = span[(equals + 1)..];
                if (W3CBaggage.AreValueChars(value) && (!value.Contains('%') || ReadValue(line, start + equals + 1, end) == end))
                {
                    member = new BaggageMember(line, start, span.Length, equals, start + equals + 1, value.Length, canonical: true);
                    return W3CBaggage.ParseResult.Member;
                }
            }

            member = default;
            return W3CBaggage.ParseResult.Malformed;
        }

        return TryParseSlow(line, start, end, out member);
    }

    /// <summary>Parses a member with whitespace or properties, in one pass over its characters.</summary>
    private static W3CBaggage.ParseResult TryParseSlow(string line, int start, int end, out BaggageMember member)
    {
        member = default;
        var i = SkipOws(line, start, end);
        if (i == end)
        {
            return W3CBaggage.ParseResult.Empty;
        }

        var memberStart = i;
        while (i < end && W3CBaggage.IsTokenChar(line[i]))
        {
            i++;
        }

        var keyLength = i - memberStart;
        i = SkipOws(line, i, end);
        if (keyLength == 0 || i == end || line[i] != '=')
        {
            return W3CBaggage.ParseResult.Malformed;
        }

        var valueStart = SkipOws(line, i + 1, end);
        i = ReadValue(line, valueStart, end);
        if (i < 0)
        {
            return W3CBaggage.ParseResult.Malformed;
        }

        var valueLength = i - valueStart;
        var emptyProperty = false;
        i = SkipOws(line, i, end);
        while (i < end)
        {
            if (line[i] != ';')
            {
                return W3CBaggage.ParseResult.Malformed;
            }

            i = SkipOws(line, i + 1, end);
            if (i == end || line[i] == ';')
            {
                emptyProperty = true; // "k=v;" or "k=v;;p": skipped
                continue;
            }

            var propertyKey = i;
            while (i < end && W3CBaggage.IsTokenChar(line[i]))
            {
                i++;
            }

            if (i == propertyKey)
            {
                return W3CBaggage.ParseResult.Malformed;
            }

            i = SkipOws(line, i, end);
            if (i < end && line[i] == '=')
            {
                i = ReadValue(line, SkipOws(line, i + 1, end), end);
                if (i < 0)
                {
                    return W3CBaggage.ParseResult.Malformed;
                }

                i = SkipOws(line, i, end);
            }
        }

        var memberEnd = end;
        while (memberEnd > memberStart && line[memberEnd - 1] is ' ' or '\t')
        {
            memberEnd--;
        }

        var text = line.AsSpan(memberStart, memberEnd - memberStart);
        var canonical = !emptyProperty && !text.ContainsAny(' ', '\t');
        member = new BaggageMember(line, memberStart, text.Length, keyLength, valueStart, valueLength, canonical);
        return W3CBaggage.ParseResult.Member;
    }

    private static int SkipOws(string line, int i, int end)
    {
        while (i < end && line[i] is ' ' or '\t')
        {
            i++;
        }

        return i;
    }

    /// <summary>Reads baggage octets from <paramref name="i"/>, every <c>%</c> followed by two hex digits: where they end, or -1.</summary>
    private static int ReadValue(string line, int i, int end)
    {
        while (i < end)
        {
            var c = line[i];
            if (c == '%')
            {
                if (i + 2 >= end || !char.IsAsciiHexDigit(line[i + 1]) || !char.IsAsciiHexDigit(line[i + 2]))
                {
                    return -1;
                }

                i += 3;
                continue;
            }

            if (!W3CBaggage.IsValueChar(c))
            {
                break;
            }

            i++;
        }

        return i;
    }
}
