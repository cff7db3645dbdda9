using System.Text.Json;
using ContextMiddleware.RabbitMQ;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ContextMiddleware.Distributed.Worker;

/// <summary>
/// Consumes the order queue with a <see cref="RequestContextConsumer"/>: each message is handled in the request
/// context its headers carry (the API's request id and trace, under a span of its own), and acknowledged after.
/// </summary>
internal sealed class OrderConsumer(DistributedSettings settings, IServiceProvider services, ILogger<OrderConsumer> logger)
    : IHostedService, IAsyncDisposable
{
    private IConnection? _connection;
    private IChannel? _channel;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connection = await settings.RabbitMQ.CreateFactory().CreateConnectionAsync("ContextMiddleware.Distributed worker", cancellationToken);
        _channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await _channel.QueueDeclareAsync(settings.Queue, durable: false, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        await _channel.BasicQosAsync(prefetchSize: 0, prefetchCount: 8, global: false, cancellationToken);
        var consumer = new RequestContextConsumer(_channel, services, HandleAsync);
        await _channel.BasicConsumeAsync(settings.Queue, autoAck: false, consumer, cancellationToken);
        logger.LogInformation(LogTemplates.WorkerReady, settings.Queue);
    }

    /// <summary>Handles one order: no id is passed in, yet every line carries the API request's.</summary>
    private async Task HandleAsync(BasicDeliverEventArgs message, CancellationToken cancellationToken)
    {
        var order = JsonSerializer.Deserialize<OrderPlaced>(message.Body.Span, JsonSerializerOptions.Web)
            ?? throw new InvalidDataException("The message holds no order.");
        logger.LogInformation(LogTemplates.Received, order.OrderId, message.RoutingKey);
        await ReserveStockAsync(cancellationToken);
        logger.LogInformation(LogTemplates.Reserved, order.OrderId);
    }

    // The stock service: an await on another thread, after which the context is still the message's.
    private static Task ReserveStockAsync(CancellationToken cancellationToken) =>
        Task.Run(() => Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken), cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_channel is not null)
        {
            await _channel.CloseAsync(cancellationToken);
        }

        if (_connection is not null)
        {
            await _connection.CloseAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null)
        {
            await _channel.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
