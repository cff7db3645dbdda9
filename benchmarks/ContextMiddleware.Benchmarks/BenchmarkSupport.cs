using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using Microsoft.Extensions.Logging;
using Perfolizer.Metrology;
using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Benchmarks;

/// <summary>A logging provider that takes part in scopes and writes nothing (it is on at Warning, and nothing warns).</summary>
internal sealed class ScopeAwareProvider : ILoggerProvider, ISupportExternalScope
{
    public ILogger CreateLogger(string categoryName) => new Logger();

    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}

/// <summary>A Serilog sink that discards every event.</summary>
internal sealed class NullSink : ILogEventSink
{
    public void Emit(LogEvent logEvent)
    {
    }
}

/// <summary>Allocations in bytes, not rounded to KB: the differences are tens of bytes.</summary>
internal sealed class BytesConfig : ManualConfig
{
    public BytesConfig() => SummaryStyle = SummaryStyle.Default.WithSizeUnit(SizeUnit.B);
}
