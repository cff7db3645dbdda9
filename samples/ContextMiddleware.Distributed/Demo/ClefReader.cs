using System.Diagnostics;
using System.Text.Json;
using Serilog.Events;
using Serilog.Parsing;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// Reads one line of compact JSON (CLEF, what <c>CompactJsonFormatter</c> writes) back into a Serilog
/// <see cref="LogEvent"/>: its time, level, message template, properties, trace and span ids. The demo checks these
/// events, never the rendered text.
/// </summary>
internal static class ClefReader
{
    private static readonly MessageTemplateParser s_parser = new();

    /// <summary>The event of <paramref name="line"/>, with its exception's text; null when the line is not a CLEF event.</summary>
    public static (LogEvent Event, string? Exception)? TryRead(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            return Read(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static (LogEvent, string?)? Read(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("@t", out var time)
            || time.ValueKind != JsonValueKind.String
            || !time.TryGetDateTimeOffset(out var timestamp))
        {
            return null;
        }

        var template = String(root, "@mt") ?? String(root, "@m") ?? "";
        var level = Enum.TryParse<LogEventLevel>(String(root, "@l"), out var parsed) ? parsed : LogEventLevel.Information;
        var traceId = String(root, "@tr") is { Length: 32 } tr && IsHex(tr) ? ActivityTraceId.CreateFromString(tr) : default;
        var spanId = String(root, "@sp") is { Length: 16 } sp && IsHex(sp) ? ActivitySpanId.CreateFromString(sp) : default;

        var properties = new List<LogEventProperty>();
        foreach (var property in root.EnumerateObject())
        {
            // "@..." are CLEF's own fields; a property of the event whose name starts with '@' is written "@@...".
            var name = property.Name.StartsWith("@@", StringComparison.Ordinal) ? property.Name[1..]
                : property.Name.StartsWith('@') ? null : property.Name;
            if (name is not null && LogEventProperty.IsValidName(name))
            {
                properties.Add(new LogEventProperty(name, Value(property.Value)));
            }
        }

        var logEvent = new LogEvent(timestamp, level, exception: null, s_parser.Parse(template), properties, traceId, spanId);
        return (logEvent, String(root, "@x"));
    }

    private static LogEventPropertyValue Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => new ScalarValue(value.GetString()),
        JsonValueKind.Number => value.TryGetInt64(out var integer) ? new ScalarValue(integer) : new ScalarValue(value.GetDouble()),
        JsonValueKind.True => new ScalarValue(true),
        JsonValueKind.False => new ScalarValue(false),
        JsonValueKind.Array => new SequenceValue(value.EnumerateArray().Select(Value)),
        JsonValueKind.Object => new StructureValue(
            value.EnumerateObject()
                .Where(member => member.Name != "$type" && LogEventProperty.IsValidName(member.Name))
                .Select(member => new LogEventProperty(member.Name, Value(member.Value))),
            String(value, "$type")),
        _ => new ScalarValue(null),
    };

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool IsHex(string text) => text.All(char.IsAsciiHexDigitLower);
}
