using System.Buffers.Binary;
using System.Diagnostics;

namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>
/// A parsed W3C <c>traceparent</c> (Trace Context Level 1, with the Level 2 <c>random</c> flag), held as numbers so
/// that parsing allocates nothing. <see cref="TryParse"/> follows the recommendation exactly: version 00 is exactly
/// 55 characters; version ff, upper-case hex, all-zero ids are invalid; a higher version is read by position (the
/// character after the first 55, if any, must be <c>-</c>) and is re-emitted as version 00.
/// </summary>
internal readonly struct TraceParent
{
    public const int Length = 55; // "00-" + 32 + "-" + 16 + "-" + 2
    public const byte SampledFlag = 0x01;
    public const byte RandomFlag = 0x02;

    private TraceParent(byte version, ulong traceIdHigh, ulong traceIdLow, ulong parentId, byte flags)
    {
        Version = version;
        TraceIdHigh = traceIdHigh;
        TraceIdLow = traceIdLow;
        ParentId = parentId;
        Flags = flags;
    }

    /// <summary>The version read; anything but 00 is re-emitted as 00 by <see cref="ToString"/>.</summary>
    public byte Version { get; }

    public ulong TraceIdHigh { get; }

    public ulong TraceIdLow { get; }

    public ulong ParentId { get; }

    public byte Flags { get; }

    public bool Sampled => (Flags & SampledFlag) != 0;

    public static bool TryParse(ReadOnlySpan<char> value, out TraceParent result)
    {
        result = default;
        if (value.Length < Length || value[2] != '-' || value[35] != '-' || value[52] != '-')
        {
            return false;
        }

        if (!TryParseHex(value[..2], out var version) || version == 0xff)
        {
            return false;
        }

        if (version == 0 ? value.Length != Length : value.Length > Length && value[Length] != '-')
        {
            return false;
        }

        if (!TryParseHex(value.Slice(3, 16), out var high) || !TryParseHex(value.Slice(19, 16), out var low) ||
            !TryParseHex(value.Slice(36, 16), out var parent) || !TryParseHex(value.Slice(53, 2), out var flags))
        {
            return false;
        }

        if ((high | low) == 0 || parent == 0)
        {
            return false;
        }

        result = new TraceParent((byte)version, high, low, parent, (byte)flags);
        return true;
    }

    public ActivityTraceId TraceId
    {
        get
        {
            Span<byte> bytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, TraceIdHigh);
            BinaryPrimitives.WriteUInt64BigEndian(bytes[8..], TraceIdLow);
            return ActivityTraceId.CreateFromBytes(bytes);
        }
    }

    public ActivitySpanId ParentSpanId
    {
        get
        {
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, ParentId);
            return ActivitySpanId.CreateFromBytes(bytes);
        }
    }

    /// <summary>Formats as version 00 (a future version is re-emitted as 00, as the recommendation requires).</summary>
    public override string ToString() =>
        string.Create(Length, this, static (span, parent) =>
        {
            "00-".CopyTo(span);
            WriteHex(span.Slice(3, 16), parent.TraceIdHigh);
            WriteHex(span.Slice(19, 16), parent.TraceIdLow);
            span[35] = '-';
            WriteHex(span.Slice(36, 16), parent.ParentId);
            span[52] = '-';
            WriteHex(span.Slice(53, 2), parent.Flags);
        });

    /// <summary>A version 00 traceparent from ids that are already lower-case hex (32 and 16 characters).</summary>
    public static string Format(string traceId, string spanId, byte flags) =>
        string.Create(Length, (traceId, spanId, flags), static (span, parts) =>
        {
            "00-".CopyTo(span);
            parts.traceId.CopyTo(span.Slice(3, 32));
            span[35] = '-';
            parts.spanId.CopyTo(span.Slice(36, 16));
            span[52] = '-';
            WriteHex(span.Slice(53, 2), parts.flags);
        });

    /// <summary>Lower-case hex only, as the recommendation requires.</summary>
    private static bool TryParseHex(ReadOnlySpan<char> hex, out ulong value)
    {
        value = 0;
        foreach (var c in hex)
        {
            int digit;
            if (c is >= '0' and <= '9')
            {
                digit = c - '0';
            }
            else if (c is >= 'a' and <= 'f')
            {
                digit = c - 'a' + 10;
            }
            else
            {
                return false;
            }

            value = (value << 4) | (uint)digit;
        }

        return true;
    }

    private static void WriteHex(Span<char> destination, ulong value)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = "0123456789abcdef"[(int)(value & 0xf)];
            value >>= 4;
        }
    }
}
