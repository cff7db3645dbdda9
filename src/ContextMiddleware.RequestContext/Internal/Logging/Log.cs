using System.Net;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal.Logging;

/// <summary>
/// Every log message of the request context (the middleware's are in ContextMiddleware.AspNetCore's own Log). Raw
/// header values are never logged, only why they were refused.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning,
        "The request id in header {HeaderName} was replaced by {RequestId}: {Reason}.",
        EventName = "InvalidRequestId")]
    public static partial void InvalidRequestId(ILogger logger, string headerName, string requestId, string reason);

    [LoggerMessage(2, LogLevel.Debug,
        "The request id in header {HeaderName} is not trusted from {RemoteAddress}; using {RequestId}.",
        EventName = "UntrustedRequestId")]
    public static partial void UntrustedRequestId(ILogger logger, string headerName, IPAddress? remoteAddress, string requestId);

    [LoggerMessage(3, LogLevel.Information,
        "The request was rejected: the request id in header {HeaderName} is invalid ({Reason}).",
        EventName = "RejectedRequestId")]
    public static partial void RejectedRequestId(ILogger logger, string headerName, string reason);

    [LoggerMessage(5, LogLevel.Error,
        "The configured RequestIdGenerator returned an invalid id ({Reason}); a random id is used instead.",
        EventName = "InvalidGeneratedRequestId")]
    public static partial void InvalidGeneratedRequestId(ILogger logger, string reason);

    [LoggerMessage(10, LogLevel.Error,
        "The reloaded RequestContext configuration is invalid: {Failures} Invalid entries of TrustedNetworks and PropagationAllowedHosts are left out of the lists now in force (a list left with no valid entry trusts no network, allows no host); the other settings are read only at startup.",
        EventName = "InvalidReload")]
    public static partial void InvalidReload(ILogger logger, string failures);

    [LoggerMessage(11, LogLevel.Information,
        "The RequestContext configuration reloaded: {TrustedNetworkCount} trusted network(s); outgoing calls carry the context to {AllowedHosts}.",
        EventName = "Reloaded")]
    public static partial void Reloaded(ILogger logger, int trustedNetworkCount, string allowedHosts);

    [LoggerMessage(24, LogLevel.Warning,
        "The reloaded RequestContext:{Setting} is empty, which would allow every host: a reload never widens the allow-list, so no host is allowed until a list comes back (or the app restarts with none).",
        EventName = "AllowListEmptiedOnReload")]
    public static partial void AllowListEmptiedOnReload(ILogger logger, string setting);

    [LoggerMessage(23, LogLevel.Error,
        "The trust policy threw while deciding whether to believe the caller's {Value}: the caller's values were treated as not trusted.",
        EventName = "TrustPolicyFailed")]
    public static partial void TrustPolicyFailed(ILogger logger, IncomingValue value, Exception exception);

    [LoggerMessage(25, LogLevel.Warning,
        "A request property was dropped: {Reason}. Later drops of this kind in the request are not logged.",
        EventName = "RequestPropertyDropped")]
    public static partial void RequestPropertyDropped(ILogger logger, string reason);

    [LoggerMessage(26, LogLevel.Warning,
        "The baggage member {BaggageKey} was dropped: {Reason}.",
        EventName = "BaggageMemberDropped")]
    public static partial void BaggageMemberDropped(ILogger logger, string baggageKey, string reason);

    [LoggerMessage(27, LogLevel.Warning,
        "{Count} baggage member(s) that do not follow the W3C Baggage format were dropped.",
        EventName = "MalformedBaggage")]
    public static partial void MalformedBaggage(ILogger logger, int count);

    [LoggerMessage(28, LogLevel.Warning,
        "{Count} baggage member(s) were dropped from the baggage {Direction}: all members together would be longer than {MaxBytes} bytes (registered variables are kept first).",
        EventName = "BaggageOverLimit")]
    public static partial void BaggageOverLimit(ILogger logger, int count, string direction, int maxBytes);

    [LoggerMessage(30, LogLevel.Warning,
        "The baggage member {BaggageKey} was not sent: {Reason}. Later calls of the request leave it out too, unlogged.",
        EventName = "BaggageMemberNotSent")]
    public static partial void BaggageMemberNotSent(ILogger logger, string baggageKey, string reason);

    [LoggerMessage(29, LogLevel.Debug,
        "The baggage header is not trusted from {RemoteAddress}: it was dropped.",
        EventName = "UntrustedBaggage")]
    public static partial void UntrustedBaggage(ILogger logger, IPAddress? remoteAddress);

    [LoggerMessage(31, LogLevel.Warning,
        "The message's user id in {HeaderName} was dropped: {Reason}. The message runs as an anonymous user.",
        EventName = "InvalidMessageUserId")]
    public static partial void InvalidMessageUserId(ILogger logger, string headerName, string reason);

    [LoggerMessage(32, LogLevel.Debug,
        "The message's user id in {HeaderName} is not trusted: the message runs as an anonymous user.",
        EventName = "UntrustedMessageUserId")]
    public static partial void UntrustedMessageUserId(ILogger logger, string headerName);

    [LoggerMessage(20, LogLevel.Error, "A queued background work item failed.", EventName = "BackgroundWorkFailed")]
    public static partial void BackgroundWorkFailed(ILogger logger, Exception exception);

    [LoggerMessage(21, LogLevel.Warning,
        "A queued background work item ran longer than {Timeout}: it was cancelled and the queue no longer waits for it.",
        EventName = "BackgroundWorkTimedOut")]
    public static partial void BackgroundWorkTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(22, LogLevel.Warning,
        "The host's shutdown timeout ran out with {PendingCount} queued background work item(s) not run and {RunningCount} still running.",
        EventName = "BackgroundWorkNotRun")]
    public static partial void BackgroundWorkNotRun(ILogger logger, int pendingCount, int runningCount);
}
