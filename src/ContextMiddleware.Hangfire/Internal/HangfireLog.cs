using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Hangfire.Internal;

/// <summary>The Hangfire integration's log messages.</summary>
internal static partial class HangfireLog
{
    [LoggerMessage(60, LogLevel.Warning,
        "The job {JobId} ({JobMethod}) failed with {ExceptionType}; Hangfire records the failure and decides on a retry.",
        EventName = "JobFailed")]
    public static partial void JobFailed(ILogger logger, string jobId, string jobMethod, string exceptionType);

    [LoggerMessage(61, LogLevel.Warning,
        "The request context of job {JobId} could not be read ({Reason}): the job runs with fresh ids.",
        EventName = "UnreadableJobContext")]
    public static partial void UnreadableParameter(ILogger logger, string jobId, string reason);
}
