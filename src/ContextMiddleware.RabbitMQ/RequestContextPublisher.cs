using ContextMiddleware.AspNetCore;
using ContextMiddleware.RabbitMQ.Internal;
using RabbitMQ.Client;

namespace ContextMiddleware.RabbitMQ;

/// <summary>
/// Publishes RabbitMQ messages that carry the current request context in their headers: the request id, the W3C
/// <c>traceparent</c>/<c>tracestate</c> naming the current span as the parent, and the registered baggage variables
/// (through <see cref="IRequestContextPropagator.Inject{TCarrier}"/>). Register it with
/// <c>services.AddRequestContextRabbitMQ()</c>.
/// </summary>
public sealed class RequestContextPublisher
{
    private readonly IRequestContextPropagator _propagator;

    /// <summary>Creates the publisher.</summary>
    /// <param name="propagator">The request context's propagator.</param>
    public RequestContextPublisher(IRequestContextPropagator propagator)
    {
        ArgumentNullException.ThrowIfNull(propagator);
        _propagator = propagator;
    }

    /// <summary>
    /// Publishes <paramref name="body"/> with the current context in its headers. The app's own properties and
    /// headers are kept (copied, never modified); a header of the context's the app set itself is replaced.
    /// </summary>
    /// <remarks>
    /// When RabbitMQ.Client's own tracing is listened to (its <c>RabbitMQ.Client.Publisher</c> ActivitySource, as
    /// OpenTelemetry's <c>AddSource("RabbitMQ.Client.*")</c> does), the client starts a publish span and writes the trace
    /// headers naming it, so the consumer's span is that publish span's child; the <c>baggage</c> header stays the request
    /// context's. Each header is written once.
    /// </remarks>
    /// <param name="channel">The channel.</param>
    /// <param name="exchange">The exchange ("" for the default exchange).</param>
    /// <param name="routingKey">The routing key (the queue's name on the default exchange).</param>
    /// <param name="body">The message body.</param>
    /// <param name="properties">The message's properties, or <see langword="null"/>.</param>
    /// <param name="mandatory">Whether the message must be routed to a queue.</param>
    /// <param name="cancellationToken">Cancels the publish.</param>
    /// <returns>A task that completes when the message is published (confirmed, when the channel has confirmations on).</returns>
    public ValueTask PublishAsync(
        IChannel channel,
        string exchange,
        string routingKey,
        ReadOnlyMemory<byte> body,
        IReadOnlyBasicProperties? properties = null,
        bool mandatory = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var withContext = properties is null ? new BasicProperties() : new BasicProperties(properties);
        var headers = new ContextHeaders(withContext.Headers);
        _propagator.Inject(headers, MessageHeaders.Setter);
        withContext.Headers = headers;
        return channel.BasicPublishAsync(exchange, routingKey, mandatory, withContext, body, cancellationToken);
    }
}
