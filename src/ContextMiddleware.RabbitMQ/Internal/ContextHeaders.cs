using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>
/// The headers of a message published with context. RabbitMQ.Client writes its own <c>traceparent</c>,
/// <c>tracestate</c> and <c>baggage</c> while it publishes, when its publisher ActivitySource is listened to
/// (<c>RabbitMQActivitySource.ContextInjector</c>): its trace headers name its publish span, a child of the current
/// span, and are kept; its <c>baggage</c> holds only the Activity's baggage, so the request context's (the registered
/// variables' current values with it) is kept instead. One header of each name either way.
/// </summary>
internal sealed class ContextHeaders(IDictionary<string, object?>? appHeaders) : IDictionary<string, object?>
{
    private readonly Dictionary<string, object?> _headers = appHeaders is null
        ? new(StringComparer.Ordinal)
        : new(appHeaders, StringComparer.Ordinal);

    private bool _baggageWritten;

    /// <summary>Writes a header of the request context's.</summary>
    public void SetContextHeader(string name, byte[] value)
    {
        _headers[name] = value;
        if (string.Equals(name, "baggage", StringComparison.Ordinal))
        {
            _baggageWritten = true;
        }
    }

    public object? this[string key]
    {
        get => _headers[key];
        set
        {
            if (_baggageWritten && string.Equals(key, "baggage", StringComparison.Ordinal))
            {
                return;
            }

            _headers[key] = value;
        }
    }

    public ICollection<string> Keys => _headers.Keys;

    public ICollection<object?> Values => _headers.Values;

    public int Count => _headers.Count;

    public bool IsReadOnly => false;

    public void Add(string key, object? value) => _headers.Add(key, value);

    public void Add(KeyValuePair<string, object?> item) => _headers.Add(item.Key, item.Value);

    public void Clear() => _headers.Clear();

    public bool Contains(KeyValuePair<string, object?> item) => ((ICollection<KeyValuePair<string, object?>>)_headers).Contains(item);

    public bool ContainsKey(string key) => _headers.ContainsKey(key);

    public void CopyTo(KeyValuePair<string, object?>[] array, int arrayIndex) =>
        ((ICollection<KeyValuePair<string, object?>>)_headers).CopyTo(array, arrayIndex);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _headers.GetEnumerator();

    public bool Remove(string key) => _headers.Remove(key);

    public bool Remove(KeyValuePair<string, object?> item) => ((ICollection<KeyValuePair<string, object?>>)_headers).Remove(item);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value) => _headers.TryGetValue(key, out value);

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
