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

    /// <summary>Returns the <c>traceparent</c> header value that names this span as the parent.</summary>
    /// <returns>For example <c>00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01</c>.</returns>
    public override string ToString() => $"00-{TraceId}-{SpanId}-{(Sampled ? "01" : "00")}";

    internal static TraceContext FromActivity(Activity activity)
    {
        var parentSpanId = activity.ParentSpanId;
        return new TraceContext(
            activity.TraceId.ToHexString(),
            activity.SpanId.ToHexString(),
            parentSpanId == default ? null : parentSpanId.ToHexString(),
            (activity.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0,
            activity.TraceStateString);
    }
}
