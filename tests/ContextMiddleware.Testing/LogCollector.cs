using System.Collections.Concurrent;
using ContextMiddleware.AspNetCore;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Testing;

/// <summary>One captured log event, with the request context that was ambient when it was written.</summary>
public sealed record LogRecord(
    string Category,
    LogLevel Level,
    EventId EventId,
    string Message,
    IReadOnlyList<KeyValuePair<string, object?>> State,
    Exception? Exception,
    string? RequestId,
    string? TraceId,
    string? UserId)
{
    /// <summary>Everything of the event that a log line could show.</summary>
    public string AllText =>
        string.Join(" | ", [Message, .. State.Select(pair => $"{pair.Key}={pair.Value}"), Exception?.ToString() ?? string.Empty]);
}

/// <summary>A logger provider that keeps every event in memory.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<LogRecord> _records = new();

    public IReadOnlyList<LogRecord> Records => [.. _records];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _records);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<LogRecord> records) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var pairs = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            records.Enqueue(new LogRecord(
                category, logLevel, eventId, formatter(state, exception), [.. pairs], exception,
                RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId, RequestContext.User.Get().Id));
        }
    }
}
