using ContextMiddleware.AspNetCore;
using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Serilog.Internal;

/// <summary>
/// Adds the request's ids and user to each event, and the call's own values (<see cref="IncomingCallSource.LogProperties"/>:
/// a hub invocation's hub, method and connection). The properties of a request are made for its first event and kept
/// as this enricher's state of the request's <see cref="TraceContext"/> (<see cref="TraceContext.GetOrAddState"/>),
/// so enriching an event allocates nothing while they do not change, and they go with the request.
/// </summary>
internal sealed class RequestContextEnricher : ILogEventEnricher
{
    private readonly string? _requestId;
    private readonly string? _traceId;
    private readonly string? _spanId;
    private readonly string? _userId;
    private readonly string? _userName;
    private readonly LogEventProperty[] _outsideRequest;

    public RequestContextEnricher(RequestContextEnricherOptions options)
    {
        _requestId = NameOrNull(options.RequestIdPropertyName);
        _traceId = NameOrNull(options.TraceIdPropertyName);
        _spanId = NameOrNull(options.SpanIdPropertyName);
        _userId = NameOrNull(options.UserIdPropertyName);
        _userName = NameOrNull(options.UserNamePropertyName);
        _outsideRequest = options.OutsideRequestValue is { } placeholder
            ? [.. new[] { _requestId, _traceId, _spanId }.OfType<string>().Select(name => Property(name, placeholder))]
            : [];
    }

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        var requestId = RequestContext.RequestId.Get();
        var trace = RequestContext.Trace.Get();
        if (requestId is null && trace is null)
        {
            foreach (var property in _outsideRequest)
            {
                logEvent.AddPropertyIfAbsent(property);
            }

            return;
        }

        var current = RequestContext.User.Get();
        var call = IncomingCallSource.Current?.LogProperties;
        var request = PropertiesOf(requestId, trace, call);

        // The request id replaces a same-named property: ASP.NET Core's hosting scope, which Serilog's provider turns
        // into properties, carries the TraceIdentifier read before any middleware ran under the name RequestId.
        if (request.RequestId is { } requestIdProperty)
        {
            logEvent.AddOrUpdateProperty(requestIdProperty);
        }

        Add(logEvent, request.TraceId);
        Add(logEvent, request.SpanId);
        foreach (var property in request.Call)
        {
            logEvent.AddPropertyIfAbsent(property);
        }

        // The request's properties: the same list while none is set, so their log properties are made once per change.
        var values = RequestContext.Properties.GetAll();
        if (values.Count != 0)
        {
            var properties = request.Properties;
            if (properties is null || !ReferenceEquals(properties.Values, values))
            {
                properties = new RequestPropertyList(values, [.. values.Select(static item => new LogEventProperty(item.Key, new ScalarValue(item.Value)))]);
                request.Properties = properties;
            }

            // The event's own values win (its message's, the completion event's StatusCode), as LogContext's do.
            foreach (var property in properties.Properties)
            {
                logEvent.AddPropertyIfAbsent(property);
            }
        }

        // The baggage variables registered with a LogPropertyName: the same list while their values do not change.
        var baggage = RequestBaggage.LogProperties;
        if (baggage.Count != 0)
        {
            var properties = request.Baggage;
            if (properties is null || !ReferenceEquals(properties.Values, baggage))
            {
                properties = new BaggagePropertyList(baggage, [.. baggage.Select(static item => Property(item.Key, item.Value))]);
                request.Baggage = properties;
            }

            foreach (var property in properties.Properties)
            {
                logEvent.AddPropertyIfAbsent(property);
            }
        }

        if (_userId is null && _userName is null)
        {
            return;
        }

        var (userId, userName) = (current.Id, current.Name);
        var user = request.User;
        if (user is null || !ReferenceEquals(user.IdValue, userId) || !ReferenceEquals(user.NameValue, userName))
        {
            // Authentication ran (or the user changed) since the last event of this request.
            user = new UserProperties(
                userId,
                userName,
                _userId is not null && userId is not null ? Property(_userId, userId) : null,
                _userName is not null && userName is not null ? Property(_userName, userName) : null);
            request.User = user;
        }

        Add(logEvent, user.Id);
        Add(logEvent, user.Name);
    }

    private RequestProperties PropertiesOf(string? requestId, TraceContext? trace, IReadOnlyList<KeyValuePair<string, string>>? call)
    {
        if (trace is null)
        {
            return Make(requestId, null, call);
        }

        // Made once per request; a request id (or call) changed during the request gets properties of its own, not kept.
        var kept = trace.GetOrAddState(
            this, static (trace, made) => made.Enricher.Make(made.RequestId, trace, made.Call), (Enricher: this, RequestId: requestId, Call: call));
        return ReferenceEquals(kept.RequestIdValue, requestId) && ReferenceEquals(kept.CallValue, call) ? kept : Make(requestId, trace, call);
    }

    private RequestProperties Make(string? requestId, TraceContext? trace, IReadOnlyList<KeyValuePair<string, string>>? call) => new(
        requestId,
        _requestId is not null && requestId is not null ? Property(_requestId, requestId) : null,
        _traceId is not null && trace is not null ? Property(_traceId, trace.TraceId) : null,
        _spanId is not null && trace is not null ? Property(_spanId, trace.SpanId) : null,
        call,
        CallProperties(call));

    /// <summary>The call's own values (a hub invocation's hub, method and connection) as properties.</summary>
    private static LogEventProperty[] CallProperties(IReadOnlyList<KeyValuePair<string, string>>? call)
    {
        if (call is null || call.Count == 0)
        {
            return [];
        }

        var properties = new LogEventProperty[call.Count];
        for (var i = 0; i < properties.Length; i++)
        {
            properties[i] = Property(call[i].Key, call[i].Value);
        }

        return properties;
    }

    private static void Add(LogEvent logEvent, LogEventProperty? property)
    {
        if (property is not null)
        {
            logEvent.AddPropertyIfAbsent(property);
        }
    }

    private static LogEventProperty Property(string name, string value) => new(name, new ScalarValue(value));

    private static string? NameOrNull(string? name) => string.IsNullOrWhiteSpace(name) ? null : name;

    /// <summary>The properties of one request, made by one enricher.</summary>
    private sealed class RequestProperties(
        string? requestIdValue,
        LogEventProperty? requestId,
        LogEventProperty? traceId,
        LogEventProperty? spanId,
        IReadOnlyList<KeyValuePair<string, string>>? callValue,
        LogEventProperty[] call)
    {
        private UserProperties? _user;

        public string? RequestIdValue { get; } = requestIdValue;

        public LogEventProperty? RequestId { get; } = requestId;

        public LogEventProperty? TraceId { get; } = traceId;

        public LogEventProperty? SpanId { get; } = spanId;

        public IReadOnlyList<KeyValuePair<string, string>>? CallValue { get; } = callValue;

        public LogEventProperty[] Call { get; } = call;

        public UserProperties? User
        {
            get => Volatile.Read(ref _user);
            set => Volatile.Write(ref _user, value);
        }

        public RequestPropertyList? Properties
        {
            get => Volatile.Read(ref _properties);
            set => Volatile.Write(ref _properties, value);
        }

        private RequestPropertyList? _properties;

        public BaggagePropertyList? Baggage
        {
            get => Volatile.Read(ref _baggage);
            set => Volatile.Write(ref _baggage, value);
        }

        private BaggagePropertyList? _baggage;
    }

    /// <summary>The log properties made of one version of the logged baggage variables (compared by reference).</summary>
    private sealed record BaggagePropertyList(IReadOnlyList<KeyValuePair<string, string>> Values, LogEventProperty[] Properties);

    /// <summary>The log properties made of one version of the request's properties (compared by reference).</summary>
    private sealed record RequestPropertyList(IReadOnlyList<KeyValuePair<string, object?>> Values, LogEventProperty[] Properties);

    /// <summary>The user properties for one user id and name (the user's own strings, compared by reference).</summary>
    private sealed record UserProperties(string? IdValue, string? NameValue, LogEventProperty? Id, LogEventProperty? Name);
}
