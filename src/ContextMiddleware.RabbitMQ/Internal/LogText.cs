namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>
/// What a log line or a span name shows of a name that came with a message (a routing key: the publisher chose it):
/// printable ASCII as it is, anything else (CR, LF, other control characters, non-ASCII) as <c>?</c>, and at most
/// <see cref="MaxLength"/> characters (a longer name is cut to 125 and ends in <c>...</c>), so that no message can forge or
/// split a log line.
/// </summary>
internal static class LogText
{
    public const int MaxLength = 128;

    private const string Cut = "...";

    public static string Of(string value)
    {
        if (value.Length <= MaxLength && !value.AsSpan().ContainsAnyExceptInRange((char)0x20, (char)0x7E))
        {
            return value;
        }

        var kept = value.Length <= MaxLength ? value.Length : MaxLength - Cut.Length;
        return string.Create(value.Length <= MaxLength ? kept : MaxLength, (value, kept), static (chars, state) =>
        {
            var (source, kept) = state;
            for (var i = 0; i < kept; i++)
            {
                chars[i] = source[i] is >= (char)0x20 and <= (char)0x7E ? source[i] : '?';
            }

            Cut.AsSpan(0, chars.Length - kept).CopyTo(chars[kept..]);
        });
    }
}
