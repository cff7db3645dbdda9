namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>
/// What a log line or a span name shows of a name that came with a message (a routing key: the publisher chose it):
/// printable ASCII as it is, anything else (CR, LF, other control characters, non-ASCII) as <c>?</c>, at most 128
/// characters, so that no message can forge or split a log line.
/// </summary>
internal static class LogText
{
    public const int MaxLength = 128;

    public static string Of(string value)
    {
        var length = Math.Min(value.Length, MaxLength);
        var span = value.AsSpan(0, length);
        if (value.Length <= MaxLength && !span.ContainsAnyExceptInRange((char)0x20, (char)0x7E))
        {
            return value;
        }

        return string.Create(length + (value.Length > MaxLength ? 1 : 0), value, static (chars, source) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = i < MaxLength && i < source.Length ? (source[i] is >= (char)0x20 and <= (char)0x7E ? source[i] : '?') : '…';
            }
        });
    }
}
