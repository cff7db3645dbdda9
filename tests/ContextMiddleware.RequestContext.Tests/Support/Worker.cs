using System.Collections.Concurrent;
using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Requests.Tests.Support;

/// <summary>One log record, with the request context that was ambient when it was written.</summary>
public sealed record Record(string Category, LogLevel Level, string? EventName, string Message, string? RequestId, string? TraceId);

/// <summary>
/// A worker's services, as a message consumer has them: <c>AddRequestContextCore()</c> and logging into memory, no
/// ASP.NET Core anywhere.
/// </summary>
public sealed class Worker : IDisposable, ILoggerProvider
{
    private readonly ConcurrentQueue<Record> _records = new();

    public Worker(Action<RequestContextOptions>? configure = null)
    {
        Services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(this).SetMinimumLevel(LogLevel.Debug))
            .AddRequestContextCore(configure)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public ServiceProvider Services { get; }

    public IRequestContextPropagator Propagator => Services.GetRequiredService<IRequestContextPropagator>();

    public IReadOnlyList<Record> Records => [.. _records];

    /// <summary>Runs <paramref name="action"/> as code inside a request would: with a request id and a span of its own.</summary>
    public static T InRequest<T>(string requestId, Func<Activity, T> action)
    {
        using var activity = new Activity("test-request").SetIdFormat(ActivityIdFormat.W3C).Start();
        return new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, requestId, RequestContext.Trace, TraceContext.FromActivity(activity));
            return action(activity);
        });
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _records);

    public void Dispose() => Services.Dispose();

    private sealed class Logger(string category, ConcurrentQueue<Record> records) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            records.Enqueue(new Record(
                category, logLevel, eventId.Name, formatter(state, exception),
                RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId));
    }
}
