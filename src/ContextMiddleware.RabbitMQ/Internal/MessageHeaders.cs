using System.Text;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>RabbitMQ message headers as the request context reads and writes them: strings out (sent as UTF-8), bytes in (as delivered).</summary>
internal static class MessageHeaders
{
    public static readonly Action<ContextHeaders, string, string> Setter =
        static (headers, name, value) => headers.SetContextHeader(name, value);

    /// <summary>Reads a header written as bytes (as RabbitMQ delivers them) or as a string (as an app may set it).</summary>
    public static readonly Func<IDictionary<string, object?>?, string, StringValues> Getter = static (headers, name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? value switch
        {
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            string text => text,
            ReadOnlyMemory<byte> memory => Encoding.UTF8.GetString(memory.Span),
            _ => StringValues.Empty,
        } : StringValues.Empty;
}
