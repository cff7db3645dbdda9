using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Tracing;

namespace ContextMiddleware.AspNetCore;

/// <summary>The W3C Trace Context of the current request: the ids of its <see cref="Activity"/>.</summary>
/// <param name="traceId">The trace id: 32 lower-case hex characters.</param>
/// <param name="spanId">The span id of the request: 16 lower-case hex characters.</param>
/// <param name="parentSpanId">The caller's span id, or <see langword="null"/> at the root of a trace.</param>
/// <param name="sampled">Whether the trace is sampled (the <c>sampled</c> trace flag).</param>
/// <param name="traceState">The vendor-specific <c>tracestate</c>, or <see langword="null"/>.</param>
/// <remarks>Immutable: a logger or exporter may keep it and read it later.</remarks>
[DebuggerDisplay("{TraceId,nq}-{SpanId,nq}")]
public sealed class TraceContext(string traceId, string spanId, string? parentSpanId, bool sampled, string? traceState)
{
    internal TraceContext(string traceId, string spanId, string? parentSpanId, byte flags, string? traceState)
        : this(traceId, spanId, parentSpanId, (flags & TraceParent.SampledFlag) != 0, traceState)
    {
        Flags = flags;
    }

    /// <summary>Gets the trace id: 32 lower-case hex characters.</summary>
    public string TraceId { get; } = traceId;

    /// <summary>Gets the span id of the request: 16 lower-case hex characters.</summary>
    public string SpanId { get; } = spanId;

    /// <summary>Gets the caller's span id, or <see langword="null"/> at the root of a trace.</summary>
    public string? ParentSpanId { get; } = parentSpanId;

    /// <summary>Gets a value indicating whether the trace is sampled (the <c>sampled</c> trace flag).</summary>
    public bool Sampled { get; } = sampled;

    /// <summary>Gets the vendor-specific <c>tracestate</c>, or <see langword="null"/>.</summary>
    public string? TraceState { get; } = traceState;

    /// <summary>The trace flags: sampled (0x01) and the Level 2 random flag (0x02) among them.</summary>
    internal byte Flags { get; } = sampled ? TraceParent.SampledFlag : (byte)0;

    /// <summary>Returns the trace context of <paramref name="activity"/>: its trace id, span id, parent, flags and tracestate.</summary>
    /// <param name="activity">A W3C activity.</param>
    /// <returns>The activity's trace context. The id strings are the activity's own: nothing is formatted twice.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="activity"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="activity"/> does not use W3C ids.</exception>
    public static TraceContext FromActivity(Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (activity.IdFormat != ActivityIdFormat.W3C)
        {
            throw new ArgumentException("The activity does not use W3C ids (Activity.IdFormat is not W3C).", nameof(activity));
        }

        var parentSpanId = activity.ParentSpanId;
        return new TraceContext(
            activity.TraceId.ToHexString(),
            activity.SpanId.ToHexString(),
            parentSpanId == default ? null : parentSpanId.ToHexString(),
            (byte)activity.ActivityTraceFlags,
            activity.TraceStateString);
    }

    /// <summary>
    /// Returns what an integration keeps for the request (or message) this trace belongs to under
    /// <paramref name="key"/>, made by <paramref name="factory"/> the first time: a logging enricher keeps the log
    /// properties of the request's ids here, so that every event of the request reuses them instead of allocating
    /// them again. The state lives as long as the trace context, and no longer.
    /// </summary>
    /// <typeparam name="TState">The type of the state.</typeparam>
    /// <typeparam name="TArgument">The type of what the factory needs besides the trace context.</typeparam>
    /// <param name="key">An object of the integration's own (the enricher instance): integrations never share state.</param>
    /// <param name="factory">Makes the state from the trace context and <paramref name="argument"/>.</param>
    /// <param name="argument">Passed to <paramref name="factory"/>, so that it need not capture anything.</param>
    /// <returns>The state kept under <paramref name="key"/>.</returns>
    /// <remarks>Safe to call concurrently: a race may make the state twice, and one of them is kept.</remarks>
    public TState GetOrAddState<TState, TArgument>(object key, Func<TraceContext, TArgument, TState> factory, TArgument argument)
        where TState : class
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        var states = Volatile.Read(ref _states);
        while (true)
        {
            foreach (var state in states)
            {
                if (ReferenceEquals(state.Key, key) && state.Value is TState found)
                {
                    return found;
                }
            }

            var made = factory(this, argument);
            KeyValuePair<object, object>[] grown = [.. states, new(key, made)];
            var seen = Interlocked.CompareExchange(ref _states, grown, states);
            if (ReferenceEquals(seen, states))
            {
                return made;
            }

            states = seen;
        }
    }

    private KeyValuePair<object, object>[] _states = [];

    /// <summary>What is kept under <paramref name="key"/>, or <see langword="null"/>; never makes it.</summary>
    internal TState? TryGetState<TState>(object key)
        where TState : class
    {
        foreach (var state in Volatile.Read(ref _states))
        {
            if (ReferenceEquals(state.Key, key) && state.Value is TState found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The settings of the call this trace belongs to (the limits of its properties); set when the call began.</summary>
    internal Internal.Options.RequestContextSettings? Settings { get; set; }

    /// <summary>The same trace, flags and tracestate, with another span (an outgoing call's) as the current one.</summary>
    internal TraceContext WithSpanId(string spanId) => new(TraceId, spanId, SpanId, Flags, TraceState);

    /// <summary>Returns the <c>traceparent</c> header value that names this span as the parent.</summary>
    /// <returns>For example <c>00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01</c>.</returns>
    public override string ToString() => TraceId.Length == 32 && SpanId.Length == 16
        ? TraceParent.Format(TraceId, SpanId, Flags)
        : $"00-{TraceId}-{SpanId}-{Flags:x2}";
}
