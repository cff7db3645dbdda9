using System.Text.Json;
using Serilog.Formatting.Compact;

namespace ContextMiddleware.Testing;

/// <summary>Serilog output written with <see cref="CompactJsonFormatter"/> to memory, and parsed back as JSON.</summary>
public sealed class SerilogOutput
{
    private readonly StringWriter _writer = new();

    public SerilogOutput() => Writer = TextWriter.Synchronized(_writer);

    public TextWriter Writer { get; }

    /// <summary>A sink that formats each event with <see cref="Formatter"/> into <see cref="Writer"/>.</summary>
    public global::Serilog.Core.ILogEventSink Sink => new FormattingSink(Writer);

    public static CompactJsonFormatter Formatter { get; } = new();

    /// <summary>Every event written so far, one JSON object per line.</summary>
    public IReadOnlyList<JsonElement> Events()
    {
        string text;
        lock (Writer)
        {
            text = _writer.ToString();
        }

        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }

    /// <summary>The value of a property of an event, or null when absent.</summary>
    public static string? Property(JsonElement logEvent, string name) =>
        logEvent.TryGetProperty(name, out var value) ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.ToString() : null;

    private sealed class FormattingSink(TextWriter writer) : global::Serilog.Core.ILogEventSink
    {
        public void Emit(global::Serilog.Events.LogEvent logEvent)
        {
            using var line = new StringWriter();
            Formatter.Format(logEvent, line);
            writer.Write(line.ToString());
        }
    }
}
