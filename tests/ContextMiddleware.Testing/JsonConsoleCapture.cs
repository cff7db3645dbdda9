using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Testing;

/// <summary>
/// The JSON console logger's real output, captured: a provider that formats every event with the JSON console
/// formatter that <c>AddJsonConsole()</c> registers (scopes included), into memory instead of the process's console.
/// </summary>
public sealed class JsonConsoleCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ConsoleFormatter _formatter;
    private IExternalScopeProvider? _scopes;

    private JsonConsoleCapture(ConsoleFormatter formatter) => _formatter = formatter;

    /// <summary>Adds the JSON console formatter (with scopes) and this capture in place of the console itself.</summary>
    public static void AddTo(ILoggingBuilder logging)
    {
        logging.AddJsonConsole(options => options.IncludeScopes = true);
        logging.Services.RemoveAll<ILoggerProvider>();
        logging.Services.AddSingleton<JsonConsoleCapture>(provider =>
            new JsonConsoleCapture(provider.GetServices<ConsoleFormatter>().Single(formatter => formatter.Name == ConsoleFormatterNames.Json)));
        logging.Services.AddSingleton<ILoggerProvider>(provider => provider.GetRequiredService<JsonConsoleCapture>());
    }

    /// <summary>Every line written so far, parsed.</summary>
    public IReadOnlyList<JsonElement> Events => [.. _lines.Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    /// <summary>The value of <paramref name="name"/> in the event's scopes, innermost first; null when absent.</summary>
    /// <summary>Every value of <paramref name="name"/> among the event's scopes, outermost first.</summary>
    public static IReadOnlyList<string> ScopeValues(JsonElement logEvent, string name) =>
        logEvent.TryGetProperty("Scopes", out var scopes)
            ? [.. scopes.EnumerateArray().Where(scope => scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty(name, out _)).Select(scope => scope.GetProperty(name).ToString())]
            : [];

    public static string? ScopeValue(JsonElement logEvent, string name, Func<JsonElement, bool>? which = null)
    {
        if (!logEvent.TryGetProperty("Scopes", out var scopes))
        {
            return null;
        }

        foreach (var scope in scopes.EnumerateArray().Reverse())
        {
            if (scope.ValueKind == JsonValueKind.Object && (which is null || which(scope)) && scope.TryGetProperty(name, out var value))
            {
                return value.ToString();
            }
        }

        return null;
    }

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(JsonConsoleCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            using var writer = new StringWriter();
            capture._formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter), capture._scopes, writer);
            capture._lines.Enqueue(writer.ToString().Trim());
        }
    }
}
