using System.Text;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>RabbitMQ message headers as the request context reads and writes them: strings out (sent as UTF-8), bytes in (as delivered).</summary>
internal static class MessageHeaders
{
    public static readonly Action<ContextHeaders, string, string> Setter =
        static (headers, name, value) => headers.SetContextHeader(name, value);

    /// <summary>
    /// Reads a header written as bytes (as RabbitMQ delivers them) or as a string (as an app may set it). Names are
    /// matched as HTTP matches them, without case, and names that differ only in case are one repeated header (which
    /// the request id and traceparent rules refuse, as over HTTP); a value of another type is absent.
    /// </summary>
    public static readonly Func<IDictionary<string, object?>?, string, StringValues> Getter = static (headers, name) =>
    {
        if (headers is null)
        {
            return StringValues.Empty;
        }

        string? first = null;
        List<string>? more = null;
        foreach (var header in headers)
        {
            if (string.Equals(header.Key, name, StringComparison.OrdinalIgnoreCase) && Text(header.Value) is { } text)
            {
                if (first is null)
                {
                    first = text;
                }
                else
                {
                    (more ??= [first]).Add(text);
                }
            }
        }

        return more is not null ? new StringValues([.. more]) : first is not null ? new StringValues(first) : StringValues.Empty;
    };

    private static string? Text(object? value) => value switch
    {
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        ReadOnlyMemory<byte> memory => Encoding.UTF8.GetString(memory.Span),
        _ => null,
    };
}
