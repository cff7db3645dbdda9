using System.Security.Claims;
using ContextMiddleware.AspNetCore;
using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Serilog.Internal;

/// <summary>
/// Adds the request's ids and user to each event. The properties of a request are made once and kept on its
/// <see cref="TraceContext"/> (one per request), so enriching an event allocates nothing while they do not change.
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

        var request = PropertiesOf(requestId, trace);

        // The request id replaces a same-named property: ASP.NET Core's hosting scope, which Serilog's provider turns
        // into properties, carries the TraceIdentifier read before any middleware ran under the name RequestId.
        if (request.RequestId is { } requestIdProperty)
        {
            logEvent.AddOrUpdateProperty(requestIdProperty);
        }

        Add(logEvent, request.TraceId);
        Add(logEvent, request.SpanId);

        if (_userId is null && _userName is null)
        {
            return;
        }

        var current = RequestContext.User.Get();
        var principal = current.Principal;
        var user = request.User;
        if (user is null || !ReferenceEquals(user.Principal, principal))
        {
            // Authentication ran (or the user changed) since the last event of this request.
            user = new UserProperties(
                principal,
                _userId is not null && current.Id is { } id ? Property(_userId, id) : null,
                _userName is not null && current.Name is { } name ? Property(_userName, name) : null);
            request.User = user;
        }

        Add(logEvent, user.Id);
        Add(logEvent, user.Name);
    }

    private RequestProperties PropertiesOf(string? requestId, TraceContext? trace)
    {
        if (trace?.LogCache is RequestProperties cached && ReferenceEquals(cached.Owner, this) &&
            ReferenceEquals(cached.RequestIdValue, requestId))
        {
            return cached;
        }

        var created = new RequestProperties(
            this,
            requestId,
            _requestId is not null && requestId is not null ? Property(_requestId, requestId) : null,
            _traceId is not null && trace is not null ? Property(_traceId, trace.TraceId) : null,
            _spanId is not null && trace is not null ? Property(_spanId, trace.SpanId) : null);
        if (trace is not null)
        {
            trace.LogCache = created; // a race only makes the same properties twice
        }

        return created;
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
        RequestContextEnricher owner, string? requestIdValue, LogEventProperty? requestId, LogEventProperty? traceId, LogEventProperty? spanId)
    {
        private UserProperties? _user;

        public RequestContextEnricher Owner { get; } = owner;

        public string? RequestIdValue { get; } = requestIdValue;

        public LogEventProperty? RequestId { get; } = requestId;

        public LogEventProperty? TraceId { get; } = traceId;

        public LogEventProperty? SpanId { get; } = spanId;

        public UserProperties? User
        {
            get => Volatile.Read(ref _user);
            set => Volatile.Write(ref _user, value);
        }
    }

    /// <summary>The user properties for one principal.</summary>
    private sealed record UserProperties(ClaimsPrincipal Principal, LogEventProperty? Id, LogEventProperty? Name);
}
