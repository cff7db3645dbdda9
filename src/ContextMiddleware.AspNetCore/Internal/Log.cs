using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>Every log message of the middleware. Raw header values are never logged, only why they were refused.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning,
        "The request id in header {HeaderName} was replaced by {RequestId}: {Reason}.",
        EventName = "InvalidRequestId")]
    public static partial void InvalidRequestId(ILogger logger, string headerName, string requestId, string reason);

    [LoggerMessage(2, LogLevel.Debug,
        "The request id in header {HeaderName} is not trusted from {RemoteAddress}; using {RequestId}.",
        EventName = "UntrustedRequestId")]
    public static partial void UntrustedRequestId(ILogger logger, string headerName, string? remoteAddress, string requestId);

    [LoggerMessage(3, LogLevel.Information,
        "The request was rejected with 400: the request id in header {HeaderName} is invalid ({Reason}).",
        EventName = "RejectedRequestId")]
    public static partial void RejectedRequestId(ILogger logger, string headerName, string reason);

    [LoggerMessage(4, LogLevel.Error,
        "An unhandled exception escaped the request pipeline for request {RequestId}.",
        EventName = "UnhandledException")]
    public static partial void UnhandledException(ILogger logger, string requestId, Exception exception);

    [LoggerMessage(5, LogLevel.Error,
        "The configured RequestIdGenerator returned an invalid id ({Reason}); a random id is used instead.",
        EventName = "InvalidGeneratedRequestId")]
    public static partial void InvalidGeneratedRequestId(ILogger logger, string reason);

    [LoggerMessage(6, LogLevel.Debug,
        "No Activity existed for the request; started {ActivityName}.",
        EventName = "StartedActivity")]
    public static partial void StartedActivity(ILogger logger, string activityName);

    [LoggerMessage(7, LogLevel.Debug,
        "The caller is not trusted with the trace context: its trace headers were removed and the request starts a new trace.",
        EventName = "UntrustedTraceContext")]
    public static partial void UntrustedTraceContext(ILogger logger);

    [LoggerMessage(8, LogLevel.Debug,
        "The traceparent header was invalid ({Count} value(s)): it was removed with its tracestate and the request starts a new trace.",
        EventName = "InvalidTraceParent")]
    public static partial void InvalidTraceParent(ILogger logger, int count);

    [LoggerMessage(9, LogLevel.Debug,
        "The tracestate header was invalid: it was removed and the trace continues without it.",
        EventName = "InvalidTraceState")]
    public static partial void InvalidTraceState(ILogger logger);
}
