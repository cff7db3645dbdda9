using ContextMiddleware.AspNetCore;
using ContextMiddleware.RabbitMQ.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace ContextMiddleware.RabbitMQ;

/// <summary>
/// A RabbitMQ consumer that runs each message's handler in the context the message carries (request id, trace,
/// baggage: <see cref="IRequestContextPropagator.Extract{TCarrier}"/> and <see cref="IRequestContextPropagator.RunAsync"/>,
/// under a consumer Activity that is a child of the producer's span), and acknowledges the message only after the
/// handler completed. A handler that throws is logged once, with the message's ids, and the message is returned to the
/// queue (it is redelivered, in the same context); consume with <c>autoAck: false</c>.
/// </summary>
public sealed class RequestContextConsumer : AsyncDefaultBasicConsumer
{
    private readonly IRequestContextPropagator _propagator;
    private readonly Func<BasicDeliverEventArgs, CancellationToken, Task> _handler;
    private readonly ILogger _logger;

    /// <summary>Creates the consumer with the propagator and logger of <paramref name="services"/> (the app's services).</summary>
    /// <param name="channel">The channel it consumes on.</param>
    /// <param name="services">The services <c>AddRequestContext()</c> or <c>AddRequestContextRabbitMQ()</c> registered in.</param>
    /// <param name="handler">Handles one message; runs in the message's context.</param>
    public RequestContextConsumer(IChannel channel, IServiceProvider services, Func<BasicDeliverEventArgs, CancellationToken, Task> handler)
        : this(
            channel,
            (services ?? throw new ArgumentNullException(nameof(services))).GetRequiredService<IRequestContextPropagator>(),
            handler,
            services.GetRequiredService<ILogger<RequestContextConsumer>>())
    {
    }

    /// <summary>Creates the consumer.</summary>
    /// <param name="channel">The channel it consumes on.</param>
    /// <param name="propagator">The request context's propagator.</param>
    /// <param name="handler">Handles one message; runs in the message's context.</param>
    /// <param name="logger">Logs a failing handler, once, with the message's ids.</param>
    public RequestContextConsumer(
        IChannel channel,
        IRequestContextPropagator propagator,
        Func<BasicDeliverEventArgs, CancellationToken, Task> handler,
        ILogger<RequestContextConsumer> logger)
        : base(channel)
    {
        ArgumentNullException.ThrowIfNull(propagator);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(logger);
        _propagator = propagator;
        _handler = handler;
        _logger = logger;
    }

    /// <summary>
    /// Gets a value indicating whether a message whose handler threw goes back to the queue to be redelivered
    /// (<see langword="true"/>), or is rejected without requeueing, so that the queue's dead-letter exchange gets it or
    /// it is dropped (<see langword="false"/>). A message that always fails is redelivered forever when requeued: give
    /// the queue a limit (a quorum queue's <c>x-delivery-limit</c>) or a dead-letter exchange.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RequeueOnFailure { get; init; } = true;

    /// <inheritdoc />
    public override async Task HandleBasicDeliverAsync(
        string consumerTag,
        ulong deliveryTag,
        bool redelivered,
        string exchange,
        string routingKey,
        IReadOnlyBasicProperties properties,
        ReadOnlyMemory<byte> body,
        CancellationToken cancellationToken = default)
    {
        // The body is the client's buffer, valid only during this call: the handler gets its own copy.
        var message = new BasicDeliverEventArgs(consumerTag, deliveryTag, redelivered, exchange, routingKey, properties, body.ToArray(), cancellationToken);
        var context = _propagator.Extract(properties.Headers, MessageHeaders.Getter);
        var shownRoutingKey = LogText.Of(routingKey);
        var outcome = Outcome.Failed;
        var handlerFailed = false;
        try
        {
            await _propagator.RunAsync(context, async () =>
            {
                try
                {
                    await _handler(message, cancellationToken).ConfigureAwait(false);
                    outcome = Outcome.Handled;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The consumer is stopping: not a failure of the handler; the message goes back to the queue.
                    outcome = Outcome.Cancelled;
                }
                catch (Exception exception)
                {
                    handlerFailed = true;
                    RabbitLog.HandlerFailed(_logger, shownRoutingKey, redelivered, RequeueOnFailure ? "returned to the queue" : "rejected", exception);
                    throw; // the consumer span is marked as an error, named by the exception's type
                }
            }, $"process {shownRoutingKey}").ConfigureAwait(false);
        }
        catch (Exception) when (handlerFailed)
        {
            // Logged once, inside the message's context (or the logger itself failed: the message is settled all the same).
        }
        catch (Exception exception)
        {
            // Around the handler, not in it (an Activity listener, the context's own work): the message is still settled
            // by what the handler did, and the exception is reported once, never to the client's callback.
            TryLog(() => context.Run(() => RabbitLog.ProcessingFailed(_logger, shownRoutingKey, exception)));
        }

        // Nothing is sent for a delivery whose channel closed or is closing (the client cancels the delivery's token
        // when its channel shuts down, also one it recovers from afterwards): the broker would close the whole
        // connection, or the tag would be stale, and the broker returns the unacknowledged message to the queue by itself.
        if (cancellationToken.IsCancellationRequested || !Channel.IsOpen)
        {
            TryLog(() => context.Run(() => RabbitLog.NotAcknowledged(_logger, shownRoutingKey)));
            return;
        }

        try
        {
            if (outcome == Outcome.Handled)
            {
                await Channel.BasicAckAsync(deliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
            }
            else
            {
                // A handler stopped by its token was not a failure: its message always goes back to the queue.
                var requeue = outcome == Outcome.Cancelled || RequeueOnFailure;
                await Channel.BasicNackAsync(deliveryTag, multiple: false, requeue, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception exception) when (exception is AlreadyClosedException or OperationCanceledException)
        {
            // The channel closed meanwhile: the broker redelivers the message.
            TryLog(() => context.Run(() => RabbitLog.NotAcknowledged(_logger, shownRoutingKey)));
        }
    }

    /// <summary>A record about a delivery must never stop the delivery from being settled, nor reach the client's callback.</summary>
    private static void TryLog(Action log)
    {
        try
        {
            log();
        }
        catch (Exception)
        {
            // A logging provider that throws: nothing more can be said about it here.
        }
    }

    private enum Outcome
    {
        Failed,
        Handled,
        Cancelled,
    }
}
