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
    private int _shutdowns;

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

        // Every shutdown of the channel, and every recovery, makes the deliveries before it stale (both are watched: the
        // client may hand a recovering channel's handlers over before it reports the old channel's shutdown).
        channel.ChannelShutdownAsync += OnChannelShutdownAsync;
        if (channel is IRecoverable recoverable)
        {
            recoverable.RecoveryAsync += OnChannelRecoveredAsync;
        }
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
        // A delivery tag belongs to the channel it came on: after the connection dropped (even if the client has
        // recovered since), acknowledging it is meaningless, and the broker redelivers the message.
        var generation = Volatile.Read(ref _shutdowns);

        // The body is the client's buffer, valid only during this call: the handler gets its own copy.
        var message = new BasicDeliverEventArgs(consumerTag, deliveryTag, redelivered, exchange, routingKey, properties, body.ToArray(), cancellationToken);
        var context = _propagator.Extract(properties.Headers, MessageHeaders.Getter);
        var shownRoutingKey = LogText.Of(routingKey);
        var outcome = Outcome.Failed;
        var logged = false;
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
                    RabbitLog.HandlerFailed(_logger, shownRoutingKey, redelivered, RequeueOnFailure ? "returned to the queue" : "rejected", exception);
                    logged = true;
                    throw; // the consumer span is marked as an error, named by the exception's type
                }
            }, $"process {shownRoutingKey}").ConfigureAwait(false);
        }
        catch (Exception) when (logged)
        {
            // Logged once, inside the message's context.
        }

        // The channel is gone or closing: sending anything on it makes the broker close the connection, and the broker
        // returns unacknowledged messages to the queue by itself.
        if (Volatile.Read(ref _shutdowns) != generation || !Channel.IsOpen)
        {
            context.Run(() => RabbitLog.NotAcknowledged(_logger, shownRoutingKey));
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
            // The channel closed while the handler ran: the broker redelivers the message (once the client recovers).
            context.Run(() => RabbitLog.NotAcknowledged(_logger, shownRoutingKey));
        }
    }

    private Task OnChannelRecoveredAsync(object sender, AsyncEventArgs args)
    {
        Interlocked.Increment(ref _shutdowns);
        return Task.CompletedTask;
    }

    private Task OnChannelShutdownAsync(object sender, ShutdownEventArgs reason)
    {
        Interlocked.Increment(ref _shutdowns);
        return Task.CompletedTask;
    }

    private enum Outcome
    {
        Failed,
        Handled,
        Cancelled,
    }
}
