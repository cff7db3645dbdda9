using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.User;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.Logging;

/// <summary>
/// The logger factory's scope provider, with the request scope added: every provider that shows scopes sees the
/// framework's scopes (the Activity scope of <c>ActivityTrackingOptions</c>, then the pushed ones, hosting's among
/// them) and, innermost, a <see cref="RequestLogScope"/> with the values of <see cref="RequestContext"/> when the event
/// is written, and the call's own values (<see cref="IncomingCallSource.LogProperties"/>: a hub invocation's hub, method
/// and connection).
/// </summary>
/// <remarks>
/// <para>
/// Nothing is pushed per request, so the request scope costs a request nothing, and it reaches every flow that carries
/// the context (a <c>Task.Run</c> child, an <see cref="IBackgroundWorkQueue"/> item, a message's handler).
/// </para>
/// <para>
/// Each key appears once per event. RequestId is left out when a framework scope already carries the same id (ASP.NET
/// Core's hosting scope does inside a request, because the request id is the request's <c>TraceIdentifier</c> before
/// hosting opens its scope); hosting's scope of another request, around the current one (a SignalR connection's
/// request around each hub invocation, an HTTP request around a message handled inside it), is shown without its
/// RequestId, so that the event's one RequestId is the current one's (an app's own scope with a RequestId of its
/// choosing is passed on as it is); TraceId and SpanId are left out where the framework's Activity scope writes the
/// current Activity's.
/// </para>
/// </remarks>
internal sealed class RequestScopeProvider : IExternalScopeProvider
{
    private static volatile Type? s_hostingScopeType;

    private readonly IExternalScopeProvider _framework;
    private readonly bool _enabled;
    private readonly bool _frameworkWritesTraceIds;

    // The options, not the settings: the logger factory needs this provider, and the settings need a logger.
    public RequestScopeProvider(IOptions<LoggerFactoryOptions> factoryOptions, IOptions<RequestContextOptions> options)
    {
        var tracking = factoryOptions.Value.ActivityTrackingOptions;
        _framework = FrameworkScopeProvider(tracking);
        _enabled = options.Value.LoggingScope;
        _frameworkWritesTraceIds = tracking.HasFlag(ActivityTrackingOptions.TraceId) && tracking.HasFlag(ActivityTrackingOptions.SpanId);
    }

    public void ForEachScope<TState>(Action<object?, TState> callback, TState state)
    {
        if (!_enabled || RequestContext.RequestId.Get() is not { } requestId)
        {
            _framework.ForEachScope(callback, state);
            return;
        }

        var walk = FrameworkScopeWalk<TState>.Rent(callback, state, requestId);
        bool withRequestId;
        try
        {
            // The framework's generic ForEachScope is called with one closed state type, never with a type built from
            // TState (a tuple of it): the Native AOT compiler (ILCompiler 10.0) fails its generic-cycle analysis of this
            // assembly on such a call ("Read out of bounds"). NativeAotTests publishes an app to keep it so.
            _framework.ForEachScope(FrameworkScopeWalk.Callback, walk);

            // The walk's own finding: a walk started inside a callback (through any provider) has its own.
            withRequestId = !walk.FrameworkHasRequestId;
        }
        finally
        {
            walk.Return();
        }

        var trace = RequestContext.Trace.Get();
        var traceForScope = _frameworkWritesTraceIds && Activity.Current is not null ? null : trace;
        // A scope with nothing to add (an anonymous request inside hosting's scope and an Activity) is not shown at all.
        if (ScopeOf(requestId, trace, traceForScope, withRequestId) is { Count: > 0 } scope)
        {
            callback(scope, state);
        }
    }

    public IDisposable Push(object? state) => _framework.Push(state);

    /// <summary>The scopes of one request, for its current user.</summary>
    private sealed class RequestLogScopesHolder
    {
        public RequestLogScopes? Current;
    }

    private RequestLogScope ScopeOf(string requestId, TraceContext? trace, TraceContext? traceForScope, bool withRequestId)
    {
        var user = RequestContext.User.Get();
        var (userId, userName) = (user.Id, user.Name);
        var call = (user as SourceUser)?.Source.LogProperties;
        if (trace is null)
        {
            return new RequestLogScope(withRequestId ? requestId : null, userId, userName, traceForScope, call);
        }

        var properties = RequestProperties.Current;
        var baggage = RequestBaggage.LogProperties;

        // The request's scopes are kept as this provider's state of its TraceContext; a user that changed (authentication
        // ran after the first event) gets scopes of its own, which replace the kept ones.
        var kept = trace.GetOrAddState(this, static (_, _) => new RequestLogScopesHolder(), 0);
        var scopes = Volatile.Read(ref kept.Current);
        if (scopes is null || !scopes.IsFor(requestId, userId, userName, call, properties, baggage))
        {
            scopes = new RequestLogScopes(requestId, userId, userName, call, properties, baggage);
            Volatile.Write(ref kept.Current, scopes);
        }

        return scopes.Get(withRequestId, traceForScope);
    }

    /// <summary>
    /// Whether a scope carries a RequestId: none, the request's own, or, in ASP.NET Core hosting's own scope, another
    /// request's (a SignalR connection's request around its hub invocations, an HTTP request around a message handled
    /// inside it). An app's own scope is passed on as it is, whatever RequestId it carries.
    /// </summary>
    private static RequestIdInScope RequestIdIn(object? scope, string requestId)
    {
        if (scope is not IReadOnlyList<KeyValuePair<string, object?>> items)
        {
            return RequestIdInScope.None;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (string.Equals(item.Key, "RequestId", StringComparison.Ordinal))
            {
                return item.Value is string value && string.Equals(value, requestId, StringComparison.Ordinal) ? RequestIdInScope.Same
                    : IsHostingScope(scope) ? RequestIdInScope.EnclosingRequest
                    : RequestIdInScope.None;
            }
        }

        return RequestIdInScope.None;
    }

    /// <summary>
    /// Whether the scope is the one ASP.NET Core's hosting opens for each request (<c>RequestPath</c>, <c>RequestId</c>).
    /// This package does not reference ASP.NET Core: the type is recognised by its name once, then by reference.
    /// </summary>
    private static bool IsHostingScope(object scope)
    {
        var type = scope.GetType();
        if (ReferenceEquals(type, s_hostingScopeType))
        {
            return true;
        }

        if (type.Name == "HostingLogScope" && type.Namespace == "Microsoft.AspNetCore.Hosting")
        {
            s_hostingScopeType = type;
            return true;
        }

        return false;
    }

    private enum RequestIdInScope
    {
        None,
        Same,
        EnclosingRequest,
    }

    private static IExternalScopeProvider FrameworkScopeProvider(ActivityTrackingOptions tracking)
    {
        var receiver = new Receiver();
        using (LoggerFactory.Create(logging => logging.AddProvider(receiver).Configure(options => options.ActivityTrackingOptions = tracking)))
        {
            return receiver.ScopeProvider ?? new LoggerExternalScopeProvider();
        }
    }

    /// <summary>
    /// A scope without its RequestId: made once per scope object (an enclosing request's scope lives as long as that
    /// request) and kept beside it.
    /// </summary>
    private sealed class WithoutRequestId : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, WithoutRequestId> s_made = [];
        private readonly KeyValuePair<string, object?>[] _items;
        private readonly string _text;

        private WithoutRequestId(IReadOnlyList<KeyValuePair<string, object?>> scope)
        {
            _items = [.. scope.Where(static item => !string.Equals(item.Key, "RequestId", StringComparison.Ordinal))];
            _text = string.Join(" ", _items.Where(static item => item.Key != "{OriginalFormat}")
                .Select(static item => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{item.Key}:{item.Value}")));
        }

        public int Count => _items.Length;

        public KeyValuePair<string, object?> this[int index] => _items[index];

        public static WithoutRequestId Of(object scope) =>
            s_made.GetValue(scope, static scope => new WithoutRequestId((IReadOnlyList<KeyValuePair<string, object?>>)scope));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => _text;
    }

    /// <summary>
    /// One walk over the framework's scopes: passes each on, noting whether one already carries the request's id, and
    /// leaving out another request's id.
    /// </summary>
    private abstract class FrameworkScopeWalk
    {
        public static readonly Action<object?, FrameworkScopeWalk> Callback = static (scope, walk) =>
        {
            switch (RequestIdIn(scope, walk.RequestId))
            {
                case RequestIdInScope.Same:
                    walk.FrameworkHasRequestId = true;
                    break;
                case RequestIdInScope.EnclosingRequest:
                    // Hosting's scope of an enclosing request (a SignalR connection's request around its hub
                    // invocations): the event's RequestId is the current call's, so that scope is passed on without
                    // the enclosing request's id (a hub invocation's scope names it ConnectionRequestId).
                    scope = WithoutRequestId.Of(scope!);
                    break;
            }

            walk.Forward(scope);
        };

        /// <summary>Whether a framework scope carried the request's id.</summary>
        public bool FrameworkHasRequestId { get; protected set; }

        protected string RequestId { get; set; } = "";

        protected abstract void Forward(object? scope);
    }

    /// <summary>
    /// The walk for a provider's callback and state: one instance per thread and state type, reused (a walk started
    /// inside another on the same thread gets its own), holding the callback and state only while it runs.
    /// </summary>
    private sealed class FrameworkScopeWalk<TState> : FrameworkScopeWalk
    {
        [ThreadStatic]
        private static FrameworkScopeWalk<TState>? t_idle;

        private Action<object?, TState>? _callback;
        private TState? _state;

        public static FrameworkScopeWalk<TState> Rent(Action<object?, TState> callback, TState state, string requestId)
        {
            var walk = t_idle ?? new FrameworkScopeWalk<TState>();
            t_idle = null;
            walk._callback = callback;
            walk._state = state;
            walk.RequestId = requestId;
            walk.FrameworkHasRequestId = false;
            return walk;
        }

        public void Return()
        {
            _callback = null;
            _state = default;
            RequestId = "";
            t_idle = this;
        }

        protected override void Forward(object? scope) => _callback!(scope, _state!);
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
