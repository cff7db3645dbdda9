using System.Collections;
using System.Diagnostics;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// The Microsoft.Extensions.Logging scope of a request: RequestId, UserId and UserName, and TraceId and SpanId only
/// where the framework's own Activity scope does not already write the same ids. Values are read from
/// <see cref="RequestContext"/> when a log event enumerates the scope, so one shared instance serves every request and
/// the user appears as soon as authentication has run.
/// </summary>
internal sealed class RequestLogScope(bool frameworkWritesTraceIds) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => Snapshot().Length;

    public KeyValuePair<string, object?> this[int index] => Snapshot()[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)Snapshot()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(", ", Snapshot().Select(pair => $"{pair.Key}:{pair.Value}"));

    private KeyValuePair<string, object?>[] Snapshot()
    {
        var items = new List<KeyValuePair<string, object?>>(5);
        if (RequestContext.RequestId.Get() is { } requestId)
        {
            items.Add(new("RequestId", requestId));
        }

        var user = RequestContext.User.Get();
        if (user.Id is { } userId)
        {
            items.Add(new("UserId", userId));
        }

        if (user.Name is { } userName)
        {
            items.Add(new("UserName", userName));
        }

        if (RequestContext.Trace.Get() is { } trace && !(frameworkWritesTraceIds && SameAsActivity(trace)))
        {
            items.Add(new("TraceId", trace.TraceId));
            items.Add(new("SpanId", trace.SpanId));
        }

        return [.. items];
    }

    private static bool SameAsActivity(TraceContext trace) =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity &&
        string.Equals(activity.TraceId.ToHexString(), trace.TraceId, StringComparison.Ordinal) &&
        string.Equals(activity.SpanId.ToHexString(), trace.SpanId, StringComparison.Ordinal);
}
