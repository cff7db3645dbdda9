using Microsoft.Extensions.Logging;

namespace ContextMiddleware.RabbitMQ.Internal;

/// <summary>The RabbitMQ integration's log messages.</summary>
internal static partial class RabbitLog
{
    [LoggerMessage(50, LogLevel.Error,
        "The handler of a message from {RoutingKey} failed (redelivered: {Redelivered}); the message is {Outcome}.",
        EventName = "MessageHandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, string routingKey, bool redelivered, string outcome, Exception exception);

    [LoggerMessage(51, LogLevel.Information,
        "A message from {RoutingKey} was not acknowledged: its channel closed while it was handled; the broker redelivers it.",
        EventName = "MessageNotAcknowledged")]
    public static partial void NotAcknowledged(ILogger logger, string routingKey);

    [LoggerMessage(52, LogLevel.Error,
        "The processing around the handler of a message from {RoutingKey} failed (not the handler: an Activity listener or the request context's own work); the message is settled by the handler's outcome.",
        EventName = "MessageProcessingFailed")]
    public static partial void ProcessingFailed(ILogger logger, string routingKey, Exception exception);
}
