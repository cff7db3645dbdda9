using System.Diagnostics;

namespace ContextMiddleware.AspNetCore;

/// <summary>The W3C Trace Context of the current request: the ids of its <see cref="Activity"/>.</summary>
/// <param name="traceId">The trace id: 32 lower-case hex characters.</param>
/// <param name="spanId">The span id of the request: 16 lower-case hex characters.</param>
/// <param name="parentSpanId">The caller's span id, or <see langword="null"/> at the root of a trace.</param>
/// <param name="sampled">Whether the trace is sampled (the <c>sampled</c> trace flag).</param>
/// <param name="traceState">The vendor-specific <c>tracestate</c>, or <see langword="null"/>.</param>
[DebuggerDisplay("{TraceId,nq}-{SpanId,nq}")]
public sealed class TraceContext(string traceId, string spanId, string? parentSpanId, bool sampled, string? traceState)
{
    internal TraceContext(string traceId, string spanId, string? parentSpanId, byte flags, string? traceState)
        : this(traceId, spanId, parentSpanId, (flags & 0x01) != 0, traceState)
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
    internal byte Flags { get; } = sampled ? (byte)0x01 : (byte)0x00;

    /// <summary>
    /// Log properties made for this trace (one per request) by a logging enricher, kept here so that the events of
    /// a request reuse them instead of allocating new ones.
    /// </summary>
    internal object? LogCache
    {
        get => Volatile.Read(ref _logCache);
        set => Volatile.Write(ref _logCache, value);
    }

    private object? _logCache;

    /// <summary>Returns the <c>traceparent</c> header value that names this span as the parent.</summary>
    /// <returns>For example <c>00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01</c>.</returns>
    public override string ToString() => TraceId.Length == 32 && SpanId.Length == 16
        ? Internal.TraceParent.Format(TraceId, SpanId, Flags)
        : $"00-{TraceId}-{SpanId}-{Flags:x2}";

    internal static TraceContext FromActivity(Activity activity)
    {
        var parentSpanId = activity.ParentSpanId;
        return new TraceContext(
            activity.TraceId.ToHexString(),
            activity.SpanId.ToHexString(),
            parentSpanId == default ? null : parentSpanId.ToHexString(),
            (byte)activity.ActivityTraceFlags,
            activity.TraceStateString);
    }
}
