using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>
/// The headers of a message published with context: the app's headers (copied, never modified) and the context's, in
/// one small array (a message has a handful of headers; a linear search beats hashing them and allocates less).
/// </summary>
/// <remarks>
/// RabbitMQ.Client writes its own <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c> while it publishes, when its
/// publisher ActivitySource is listened to (<c>RabbitMQActivitySource.ContextInjector</c>): its trace headers name its
/// publish span, a child of the current span, and are kept; its <c>baggage</c> holds only the Activity's baggage, so
/// the request context's (the registered variables' current values with it) is kept instead. One header of each name
/// either way.
/// </remarks>
internal sealed class ContextHeaders : IDictionary<string, object?>
{
    private KeyValuePair<string, object?>[] _items;
    private int _count;
    private bool _baggageWritten;

    public ContextHeaders(IDictionary<string, object?>? appHeaders)
    {
        _items = new KeyValuePair<string, object?>[(appHeaders?.Count ?? 0) + 4];
        if (appHeaders is not null)
        {
            foreach (var header in appHeaders)
            {
                Append(header.Key, header.Value); // as the app gave them
            }
        }
    }

    /// <summary>Writes a header of the request context's (a string: RabbitMQ.Client sends it as an AMQP long string, UTF-8).</summary>
    /// <remarks>
    /// Header names are compared as HTTP compares them, without case: an app's <c>x-request-id</c> or
    /// <c>Traceparent</c> is replaced, never sent beside the context's.
    /// </remarks>
    public void SetContextHeader(string name, string value)
    {
        RemoveIgnoringCase(name);
        if (string.Equals(name, "traceparent", StringComparison.OrdinalIgnoreCase))
        {
            // A tracestate belongs to its traceparent: one the app copied from another message must not ride along.
            RemoveIgnoringCase("tracestate");
        }

        Append(name, value);
        if (string.Equals(name, "baggage", StringComparison.OrdinalIgnoreCase))
        {
            _baggageWritten = true;
        }
    }

    public object? this[string key]
    {
        get => IndexOf(key) is var index and >= 0 ? _items[index].Value : throw new KeyNotFoundException($"No header '{key}'.");
        set
        {
            if (_baggageWritten && string.Equals(key, "baggage", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }

            // Written after the app's headers were copied (RabbitMQ.Client's own tracing): one header of a name, in any case.
            RemoveIgnoringCase(key);
            Append(key, value);
        }
    }

    public ICollection<string> Keys => [.. this.Select(static item => item.Key)];

    public ICollection<object?> Values => [.. this.Select(static item => item.Value)];

    public int Count => _count;

    public bool IsReadOnly => false;

    public void Add(string key, object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (IndexOf(key) >= 0)
        {
            throw new ArgumentException($"A header '{key}' is already present.", nameof(key));
        }

        Append(key, value);
    }

    public void Add(KeyValuePair<string, object?> item) => Add(item.Key, item.Value);

    public void Clear()
    {
        Array.Clear(_items, 0, _count);
        _count = 0;
    }

    public bool Contains(KeyValuePair<string, object?> item) =>
        IndexOf(item.Key) is var index and >= 0 && Equals(_items[index].Value, item.Value);

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public void CopyTo(KeyValuePair<string, object?>[] array, int arrayIndex) => Array.Copy(_items, 0, array, arrayIndex, _count);

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return _items[i];
        }
    }

    public bool Remove(string key)
    {
        var index = IndexOf(key);
        if (index < 0)
        {
            return false;
        }

        Array.Copy(_items, index + 1, _items, index, _count - index - 1);
        _items[--_count] = default;
        return true;
    }

    public bool Remove(KeyValuePair<string, object?> item) => Contains(item) && Remove(item.Key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value)
    {
        var index = IndexOf(key);
        value = index >= 0 ? _items[index].Value : null;
        return index >= 0;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void RemoveIgnoringCase(string name)
    {
        for (var i = _count - 1; i >= 0; i--)
        {
            if (string.Equals(_items[i].Key, name, StringComparison.OrdinalIgnoreCase))
            {
                Array.Copy(_items, i + 1, _items, i, _count - i - 1);
                _items[--_count] = default;
            }
        }
    }

    private void Append(string key, object? value)
    {
        if (_count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        _items[_count++] = new(key, value);
    }

    private int IndexOf(string key)
    {
        for (var i = 0; i < _count; i++)
        {
            if (string.Equals(_items[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
