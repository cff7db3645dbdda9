using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal.Logging;

/// <summary>
/// Every log message of the middleware (the request id's are ContextMiddleware.RequestContext's). Raw header values
/// are never logged, only why they were refused.
/// </summary>
internal static partial class HttpLog
{
    [LoggerMessage(4, LogLevel.Error,
        "An unhandled exception was thrown by the application; the response is a 500 with the request id.",
        EventName = "UnhandledException")]
    public static partial void UnhandledException(ILogger logger, Exception exception);

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

    [LoggerMessage(29, LogLevel.Debug,
        "The baggage header is not trusted from {RemoteAddress}: it was removed.",
        EventName = "UntrustedBaggage")]
    public static partial void UntrustedBaggage(ILogger logger, System.Net.IPAddress? remoteAddress);

    [LoggerMessage(13, LogLevel.Error,
        "The request's context could not be begun when the server started the request; the pipeline begins it instead.",
        EventName = "BeginFailed")]
    public static partial void BeginFailed(ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Debug,
        "The request was answered {StatusCode}: the server rejected it (malformed, or over a limit).",
        EventName = "BadRequest")]
    public static partial void BadRequest(ILogger logger, int statusCode, Exception exception);

    [LoggerMessage(12, LogLevel.Debug,
        "The request was aborted by the client.",
        EventName = "RequestAborted")]
    public static partial void RequestAborted(ILogger logger);
}
