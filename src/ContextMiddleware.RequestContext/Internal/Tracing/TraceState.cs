using System.Buffers;
using System.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>
/// W3C <c>tracestate</c> validation: members split on <c>,</c> and trimmed of spaces and tabs; empty members allowed;
/// keys <c>[a-z0-9][a-z0-9_\-*/@]{0,255}</c>; values of 1 to 256 printable characters other than <c>,</c> and
/// <c>=</c>, not ending in a space; at most 32 members. Any invalid member invalidates the whole header, which is then
/// dropped. Valid headers are kept intact, whatever their length.
/// </summary>
/// <remarks>
/// One pass over the characters with a class table: members are short, so per-member searches would cost more in
/// set-up than they save.
/// </remarks>
internal static class TraceState
{
    public const int MaxMembers = 32;
    public const int MaxKeyLength = 256;
    public const int MaxValueLength = 256;

    private const byte KeyStart = 1; // [a-z0-9]
    private const byte KeyChar = 2;  // [a-z0-9_\-*/@]
    private const byte ValueChar = 4; // printable ASCII other than ',' and '='

    /// <summary>Whether the (already combined) tracestate is valid.</summary>
    public static bool IsValid(ReadOnlySpan<char> value) => IsValid(value, out _);

    /// <summary>Whether the (already combined) tracestate is valid, and how many non-empty members it has.</summary>
    public static bool IsValid(ReadOnlySpan<char> value, out int members)
    {
        members = 0;
        byte[]? rented = null;
        var bytes = value.Length < 1024 ? stackalloc byte[value.Length + 1] : (rented = ArrayPool<byte>.Shared.Rent(value.Length + 1));
        try
        {
            // Narrowing to ASCII bytes is vectorised and rejects every non-ASCII character at once.
            if (Ascii.FromUtf16(value, bytes, out var length) != OperationStatus.Done)
            {
                return false;
            }

            bytes[length] = 0; // a sentinel of class 0 ends every scan below without a bounds check
            return IsValid(ref MemoryMarshal.GetReference(bytes), length, out members);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>One pass over ASCII bytes followed by a 0 sentinel.</summary>
    private static bool IsValid(ref byte text, int length, out int members)
    {
        ref var classes = ref MemoryMarshal.GetReference(Classes);
        members = 0;
        var i = 0;
        while (true)
        {
            byte c;
            while ((c = Unsafe.Add(ref text, i)) is (byte)' ' or (byte)'\t')
            {
                i++;
            }

            if (i == length)
            {
                return true;
            }

            if (c == ',')
            {
                i++; // an empty member
                continue;
            }

            // Key.
            var keyStart = i;
            if ((Unsafe.Add(ref classes, c) & KeyStart) == 0)
            {
                return false;
            }

            do
            {
                i++;
            }
            while ((Unsafe.Add(ref classes, Unsafe.Add(ref text, i)) & KeyChar) != 0);

            if (i - keyStart > MaxKeyLength || Unsafe.Add(ref text, i) != '=')
            {
                return false;
            }

            // Value: printable characters; trailing spaces are whitespace around the member, not part of the value.
            var valueStart = ++i;
            while ((Unsafe.Add(ref classes, Unsafe.Add(ref text, i)) & ValueChar) != 0)
            {
                i++;
            }

            var valueEnd = i;
            while (valueEnd > valueStart && Unsafe.Add(ref text, valueEnd - 1) == ' ')
            {
                valueEnd--;
            }

            if (valueEnd == valueStart || valueEnd - valueStart > MaxValueLength || ++members > MaxMembers)
            {
                return false;
            }

            while ((c = Unsafe.Add(ref text, i)) is (byte)' ' or (byte)'\t')
            {
                i++;
            }

            if (i == length)
            {
                return true;
            }

            if (c != ',')
            {
                return false;
            }

            i++;
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

    /// <summary>The class of each byte: <see cref="KeyStart"/>, <see cref="KeyChar"/>, <see cref="ValueChar"/>; 0 for the rest.</summary>
    private static ReadOnlySpan<byte> Classes =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6, 4, 0, 6, 4, 6,
        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 0, 4, 4,
        6, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
        4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6,
        4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 4, 4, 4, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
}
