using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// The logger factory's scope provider, with the request scope added: every provider that shows scopes sees the
/// framework's scopes (the Activity scope of <c>ActivityTrackingOptions</c>, then the pushed ones) and, innermost, the
/// request's <see cref="RequestLogScope"/>, read from <see cref="RequestContext"/> when the event is written.
/// </summary>
/// <remarks>
/// Nothing is pushed per request, so the request scope costs a request nothing, and it reaches every flow that carries
/// the context (a <c>Task.Run</c> child, an <see cref="IBackgroundWorkQueue"/> item, a <c>Context.Run</c>). The
/// framework's own scope provider does the rest: it is taken from a private logger factory built with the app's
/// <c>ActivityTrackingOptions</c>, so the Activity scope is exactly the framework's.
/// </remarks>
internal sealed class RequestScopeProvider : IExternalScopeProvider
{
    private readonly IExternalScopeProvider _framework;
    private readonly RequestLogScope? _requestScope;

    public RequestScopeProvider(IOptions<LoggerFactoryOptions> factoryOptions, RequestContextSettings settings)
    {
        var tracking = factoryOptions.Value.ActivityTrackingOptions;
        _framework = FrameworkScopeProvider(tracking);
        _requestScope = settings.LoggingScope
            ? new RequestLogScope(tracking.HasFlag(ActivityTrackingOptions.TraceId) && tracking.HasFlag(ActivityTrackingOptions.SpanId))
            : null;
    }

    public void ForEachScope<TState>(Action<object?, TState> callback, TState state)
    {
        _framework.ForEachScope(callback, state);
        if (_requestScope is not null && RequestContext.RequestId.Get() is not null)
        {
            callback(_requestScope, state);
        }
    }

    public IDisposable Push(object? state) => _framework.Push(state);

    private static IExternalScopeProvider FrameworkScopeProvider(ActivityTrackingOptions tracking)
    {
        var receiver = new Receiver();
        using (LoggerFactory.Create(logging => logging.AddProvider(receiver).Configure(options => options.ActivityTrackingOptions = tracking)))
        {
            return receiver.ScopeProvider ?? new LoggerExternalScopeProvider();
        }
    }

    /// <summary>Receives the scope provider a logger factory hands to providers that show scopes.</summary>
    private sealed class Receiver : ILoggerProvider, ISupportExternalScope
    {
        public IExternalScopeProvider? ScopeProvider { get; private set; }

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => ScopeProvider = scopeProvider;

        public ILogger CreateLogger(string categoryName) => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }
    }
}
