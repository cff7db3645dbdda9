namespace Microsoft.AspNetCore.Hosting;

/// <summary>Review probe stand-in for ASP.NET Core hosting's scope (RequestScopeProvider recognises it by its name).</summary>
internal sealed class HostingLogScope(string path, string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _items = [new("RequestPath", path), new("RequestId", requestId)];

    public int Count => _items.Length;

    public KeyValuePair<string, object?> this[int index] => _items[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
