using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace ContextMiddleware.Sample.Demo;

/// <summary>
/// The demo's console: writes each event as the sample's console line, as it arrives, and keeps the events so that
/// the demo can check them.
/// </summary>
internal sealed class DemoLogSink(TextWriter output) : ILogEventSink
{
    private readonly MessageTemplateTextFormatter _formatter = new(SampleApp.ConsoleTemplate);
    private readonly List<LogEvent> _events = [];
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource? _changed;

    public void Emit(LogEvent logEvent)
    {
        using var line = new StringWriter();
        _formatter.Format(logEvent, line);
        lock (_lock)
        {
            output.Write(line.ToString());
            _events.Add(logEvent);
            _lines.Add(line.ToString().TrimEnd('\r', '\n'));
            _changed?.TrySetResult();
            _changed = null;
        }
    }

    /// <summary>The events written so far, in order.</summary>
    public IReadOnlyList<LogEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The events as console lines, in order.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Waits until the events written satisfy <paramref name="done"/>; false on timeout.</summary>
    public async Task<bool> WaitUntilAsync(Func<IReadOnlyList<LogEvent>, bool> done, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (done(_events))
                {
                    return true;
                }

                _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }
}
