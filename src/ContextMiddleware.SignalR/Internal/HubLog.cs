using Microsoft.Extensions.Logging;

namespace ContextMiddleware.SignalR.Internal;

/// <summary>
/// The log messages of the hub integration. What is wrong with an invocation's trace headers is told with the event ids,
/// names and levels of the same records for HTTP requests (ContextMiddleware.AspNetCore's), so that one query finds
/// both. Raw header values are never logged, only why they were refused.
/// </summary>
internal static partial class HubLog
{
    [LoggerMessage(7, LogLevel.Debug,
        "The caller is not trusted with the trace context: the invocation's trace headers were ignored and it starts a new trace.",
        EventName = "UntrustedTraceContext")]
    public static partial void UntrustedTraceContext(ILogger logger);

    [LoggerMessage(8, LogLevel.Debug,
        "The invocation's traceparent header was invalid ({Count} value(s)): it was ignored with its tracestate and the invocation starts a new trace.",
        EventName = "InvalidTraceParent")]
    public static partial void InvalidTraceParent(ILogger logger, int count);

    [LoggerMessage(9, LogLevel.Debug,
        "The invocation's tracestate header was invalid: it was ignored and the trace continues without it.",
        EventName = "InvalidTraceState")]
    public static partial void InvalidTraceState(ILogger logger);

    [LoggerMessage(30, LogLevel.Warning,
        "Hub invocations' headers are not read: the DistributedContextPropagator service is {PropagatorType}, registered after AddSignalR().AddRequestContext(), which decorates the one registered before it. Each invocation gets a fresh request id, and SignalR reads its trace headers without the trust policy. Register the app's propagator before calling AddSignalR().AddRequestContext().",
        EventName = "InvocationHeadersNotRead")]
    public static partial void InvocationHeadersNotRead(ILogger logger, string propagatorType);
}
