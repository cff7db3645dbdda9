using System.Collections;
using System.Globalization;
using ContextMiddleware.AspNetCore.Internal.Properties;

namespace ContextMiddleware.AspNetCore.Internal.Logging;

/// <summary>
/// The Microsoft.Extensions.Logging scope of a request: RequestId, UserId, UserName, TraceId and SpanId as they were
/// when the event was written, then the call's own values (<see cref="IncomingCallSource.LogProperties"/>). Immutable, so a provider that keeps the event and reads its scopes later (OpenTelemetry's
/// batch export, on another thread) sees that event's values; reading it allocates nothing.
/// </summary>
internal sealed class RequestLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _items;
    private string? _text;

    public RequestLogScope(
        string? requestId,
        string? userId,
        string? userName,
        TraceContext? trace,
        IReadOnlyList<KeyValuePair<string, string>>? call = null,
        PropertySnapshot? properties = null,
        IReadOnlyList<KeyValuePair<string, string>>? baggage = null)
    {
        var items = new List<KeyValuePair<string, object?>>(5 + (call?.Count ?? 0) + (properties?.Items.Length ?? 0) + (baggage?.Count ?? 0));
        Add(items, "RequestId", requestId);
        Add(items, "UserId", userId);
        Add(items, "UserName", userName);
        Add(items, "TraceId", trace?.TraceId);
        Add(items, "SpanId", trace?.SpanId);
        if (call is not null)
        {
            for (var i = 0; i < call.Count; i++)
            {
                Add(items, call[i].Key, call[i].Value);
            }
        }

        if (properties is not null)
        {
            items.AddRange(properties.Items);
        }

        if (baggage is not null)
        {
            for (var i = 0; i < baggage.Count; i++)
            {
                Add(items, baggage[i].Key, baggage[i].Value);
            }
        }

        _items = [.. items];
    }

    public int Count => _items.Length;

    public KeyValuePair<string, object?> this[int index] => _items[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() =>
        _text ??= string.Join(" ", _items.Select(static item => string.Create(CultureInfo.InvariantCulture, $"{item.Key}:{item.Value}")));

    private static void Add(List<KeyValuePair<string, object?>> items, string key, string? value)
    {
        if (value is not null)
        {
            items.Add(new(key, value));
        }
    }
}

/// <summary>
/// The scopes made for one request and one user (kept with the request's <see cref="TraceContext"/>), in the four shapes
/// an event can need: with or without RequestId, with or without the trace ids.
/// </summary>
internal sealed class RequestLogScopes(
    string requestId,
    string? userId,
    string? userName,
    IReadOnlyList<KeyValuePair<string, string>>? call,
    PropertySnapshot properties,
    IReadOnlyList<KeyValuePair<string, string>> baggage)
{
    private readonly RequestLogScope?[] _shapes = new RequestLogScope?[4];

    public string RequestId { get; } = requestId;

    public string? UserId { get; } = userId;

    public string? UserName { get; } = userName;

    public bool IsFor(
        string requestId,
        string? userId,
        string? userName,
        IReadOnlyList<KeyValuePair<string, string>>? call,
        PropertySnapshot properties,
        IReadOnlyList<KeyValuePair<string, string>> baggage) =>
        ReferenceEquals(RequestId, requestId) && string.Equals(UserId, userId, StringComparison.Ordinal) &&
        string.Equals(UserName, userName, StringComparison.Ordinal) && ReferenceEquals(call, Call) && ReferenceEquals(properties, Properties) &&
        ReferenceEquals(baggage, Baggage);

    /// <summary>The logged baggage variables the scopes were made with (compared by reference: each change is a new list).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Baggage { get; } = baggage;

    /// <summary>The request's properties the scopes were made with (compared by reference: each change is a new snapshot).</summary>
    public PropertySnapshot Properties { get; } = properties;

    /// <summary>The call's own log values, compared by reference (each call has its own list).</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Call { get; } = call;

    public RequestLogScope Get(bool withRequestId, TraceContext? trace)
    {
        var index = (withRequestId ? 1 : 0) | (trace is null ? 0 : 2);
        return Volatile.Read(ref _shapes[index]) ?? (_shapes[index] = new RequestLogScope(withRequestId ? RequestId : null, UserId, UserName, trace, Call, Properties, Baggage));
    }
}
