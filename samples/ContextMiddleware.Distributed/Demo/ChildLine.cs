using Serilog.Events;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// One line a child process wrote to its standard output: its log event read back from compact JSON, or (when the
/// line is not such an event) only its text, timed by when it arrived.
/// </summary>
internal sealed record ChildLine(string Role, long Sequence, DateTimeOffset Timestamp, LogEvent? Event, string? Exception, string Text)
{
    public static ChildLine Read(string role, long sequence, string text) =>
        ClefReader.TryRead(text) is var (logEvent, exception)
            ? new ChildLine(role, sequence, logEvent.Timestamp, logEvent, exception, text)
            : new ChildLine(role, sequence, DateTimeOffset.Now, null, null, text);

    /// <summary>The value of a scalar property of the event, as a string; null when absent.</summary>
    public string? Property(string name) => Event is null ? null : Property(Event, name);

    public static string? Property(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: var scalar }
            ? Convert.ToString(scalar, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    /// <summary>Whether the event was written with <paramref name="template"/> (one of <see cref="LogTemplates"/>).</summary>
    public bool Is(string template) => Event?.MessageTemplate.Text == template;
}
