namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>The W3C Trace Context header names.</summary>
internal static class TraceHeaders
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
    public const string TraceResponse = "traceresponse";

    /// <summary>Writes <c>traceparent</c> naming <paramref name="trace"/>'s span as the parent, and its tracestate.</summary>
    public static void Write<TCarrier>(TraceContext trace, TCarrier carrier, Action<TCarrier, string, string> set)
    {
        set(carrier, TraceParent, trace.ToString());
        if (!string.IsNullOrEmpty(trace.TraceState))
        {
            set(carrier, TraceState, trace.TraceState);
        }
    }
}
