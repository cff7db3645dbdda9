namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>The W3C Trace Context header names.</summary>
internal static class TraceHeaders
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";
}
