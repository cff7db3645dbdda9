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

    /// <summary>The same trace, flags and tracestate, with another span (an outgoing call's) as the current one.</summary>
    internal TraceContext WithSpanId(string spanId) => new(TraceId, spanId, SpanId, Flags, TraceState);

    /// <summary>Returns the <c>traceparent</c> header value that names this span as the parent.</summary>
    /// <returns>For example <c>00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01</c>.</returns>
    public override string ToString() => TraceId.Length == 32 && SpanId.Length == 16
        ? TraceParent.Format(TraceId, SpanId, Flags)
        : $"00-{TraceId}-{SpanId}-{Flags:x2}";
}
