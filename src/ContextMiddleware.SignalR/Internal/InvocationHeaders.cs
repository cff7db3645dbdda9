using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.SignalR.Internal;

/// <summary>
/// The headers of the hub invocation whose Activity SignalR is starting, and whether its caller is believed with trace
/// headers: found by <see cref="HubInvocationPropagator"/> when SignalR extracts them, kept for the invocation's hub
/// filter.
/// </summary>
/// <remarks>
/// SignalR extracts an invocation's trace context synchronously inside the async method that then runs the hub filters
/// (for a streaming invocation, the one that runs the whole stream), so a value set here during the extraction is seen
/// by exactly that invocation's filters, and by no other: the method's end restores its caller's values.
/// </remarks>
internal sealed class InvocationHeaders(IDictionary<string, string> headers, bool traceTrusted, Exception? trustFailure)
{
    private static readonly AsyncLocal<InvocationHeaders?> s_current = new();

    public IDictionary<string, string> Headers { get; } = headers;

    public bool TraceTrusted { get; } = traceTrusted;

    public Exception? TrustFailure { get; } = trustFailure;

    /// <summary>What was wrong with the trace headers, logged by the filter inside the invocation's context.</summary>
    public TraceHeaderProblem Problem { get; set; }

    /// <summary>
    /// One header of an invocation. SignalR's protocols keep header names as the client wrote them, so a name is
    /// matched without regard to case, as HTTP's are; names that differ only by case are several values (which no
    /// request id or traceparent passes).
    /// </summary>
    public static StringValues Get(IDictionary<string, string>? headers, string name)
    {
        if (headers is not { Count: > 0 })
        {
            return StringValues.Empty;
        }

        StringValues found = default;
        foreach (var (key, value) in headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                found = StringValues.Concat(found, value);
            }
        }

        return found;
    }

    /// <summary>The headers of the invocation being dispatched in this flow, if SignalR extracted any.</summary>
    public static InvocationHeaders? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }
}

/// <summary>What was wrong with an invocation's trace headers.</summary>
internal enum TraceHeaderProblem
{
    None,
    Untrusted,
    InvalidTraceParent,
    InvalidTraceState,
}

/// <summary>
/// The <see cref="DistributedContextPropagator"/> SignalR asks for each hub invocation's trace context (from the
/// invocation's headers; ASP.NET Core's hosting and everything else go on to the propagator it decorates). It applies
/// the trust policy, with the address of the connection's caller, before SignalR's Activity takes the caller's
/// <c>traceparent</c> as its parent: an untrusted caller's <c>traceparent</c> and <c>tracestate</c> (and <c>baggage</c>,
/// by its own decision) are ignored, a trusted one's are validated as the W3C recommendation says, and the Activity's
/// baggage is what the app keeps of it. It keeps the headers for the hub filter
/// (<see cref="InvocationHeaders"/>), which reads the request id from them.
/// </summary>
internal sealed class HubInvocationPropagator(
    DistributedContextPropagator inner,
    W3CTraceContextPropagator w3c,
    IRequestContextPropagator propagator) : DistributedContextPropagator
{
    // SignalR's getter is one static lambda per hub type: the last one recognised is remembered.
    private PropagatorGetterCallback? _signalRGetter;

    /// <summary>Reads an invocation header whatever the case of its name; names that differ only by case are several values.</summary>
    private static readonly PropagatorGetterCallback s_anyCase = static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
    {
        var found = InvocationHeaders.Get((IDictionary<string, string>)carrier!, name);
        value = found.Count == 1 ? found[0] : null;
        values = found.Count > 1 ? (IEnumerable<string>)found.ToArray()! : null;
    };

    public override IReadOnlyCollection<string> Fields => inner.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) =>
        inner.Inject(activity, carrier, setter);

    public override void ExtractTraceIdAndState(object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        if (!IsInvocation(carrier, getter, out var headers))
        {
            inner.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
            return;
        }

        var found = Find(headers);
        traceId = null;
        traceState = null;
        if (!found.TraceTrusted)
        {
            if (HasAny(headers, "traceparent", "tracestate"))
            {
                found.Problem = TraceHeaderProblem.Untrusted;
            }

            return;
        }

        // Header names are matched without regard to case, as HTTP's are (SignalR's own getter matches them exactly).
        w3c.ExtractTraceIdAndState(carrier, s_anyCase, out traceId, out traceState);
        s_anyCase(carrier, "traceparent", out var parent, out _);
        s_anyCase(carrier, "tracestate", out var state, out _);
        found.Problem = parent is not null && traceId is null ? TraceHeaderProblem.InvalidTraceParent
            : traceId is not null && state is not null && traceState is null ? TraceHeaderProblem.InvalidTraceState
            : TraceHeaderProblem.None;
    }

    private static bool HasAny(IDictionary<string, string> headers, params ReadOnlySpan<string> names)
    {
        foreach (var key in headers.Keys)
        {
            foreach (var name in names)
            {
                if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter)
    {
        if (!IsInvocation(carrier, getter, out var headers))
        {
            return inner.ExtractBaggage(carrier, getter);
        }

        // Baggage has a trust decision of its own (by default the trace headers'); an untrusted caller's is logged by the
        // hub filter's BeginCall, which reads the same header.
        return HasAny(headers, "baggage") && propagator.TrustsBaggage(IncomingCallSource.Current?.RemoteAddress, out _)
            ? w3c.ExtractBaggage(carrier, s_anyCase)
            : null;
    }

    /// <summary>This invocation's decision, made once (SignalR extracts the trace and then the baggage).</summary>
    private InvocationHeaders Find(IDictionary<string, string> headers)
    {
        if (InvocationHeaders.Current is { } current && ReferenceEquals(current.Headers, headers))
        {
            return current;
        }

        // The connection's caller: the HTTP request that started the connection is the flow's call (its address is kept
        // after it ended, for long polling).
        var trusted = propagator.TrustsTraceContext(IncomingCallSource.Current?.RemoteAddress, out var failure);
        var found = new InvocationHeaders(headers, trusted, failure);
        InvocationHeaders.Current = found;
        return found;
    }

    private bool IsInvocation(object? carrier, PropagatorGetterCallback? getter, out IDictionary<string, string> headers)
    {
        headers = null!;
        if (carrier is not IDictionary<string, string> dictionary || getter is null)
        {
            return false;
        }

        if (!ReferenceEquals(getter, Volatile.Read(ref _signalRGetter)))
        {
            if (getter.Method.DeclaringType?.Assembly != typeof(Microsoft.AspNetCore.SignalR.Hub).Assembly)
            {
                return false;
            }

            Volatile.Write(ref _signalRGetter, getter);
        }

        headers = dictionary;
        return true;
    }
}
