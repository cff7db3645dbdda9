using System.Text.Json;
using ContextMiddleware.RabbitMQ;
using RabbitMQ.Client;

namespace ContextMiddleware.Distributed.Api;

/// <summary>
/// The API's RabbitMQ connection: connects and declares the queue when the app starts, and publishes orders with the
/// current request's context in their headers (<see cref="RequestContextPublisher"/>), each confirmed by the broker.
/// </summary>
internal sealed class OrderQueue(DistributedSettings settings, RequestContextPublisher publisher, ILogger<OrderQueue> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly SemaphoreSlim _publishing = new(1, 1);
    private IConnection? _connection;
    private IChannel? _channel;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _connection = await settings.RabbitMQ.CreateFactory().CreateConnectionAsync("ContextMiddleware.Distributed api", cancellationToken);
        _channel = await _connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
        await _channel.QueueDeclareAsync(settings.Queue, durable: false, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
    }

    public async Task PublishAsync(OrderPlaced order, CancellationToken cancellationToken)
    {
        var channel = _channel ?? throw new InvalidOperationException("The queue is not connected yet.");
        var body = JsonSerializer.SerializeToUtf8Bytes(order, JsonSerializerOptions.Web);
        var properties = new BasicProperties { ContentType = "application/json" };
        await _publishing.WaitAsync(cancellationToken);
        try
        {
            // mandatory: an order that reaches no queue fails the request instead of vanishing.
            await publisher.PublishAsync(channel, "", settings.Queue, body, properties, mandatory: true, cancellationToken);
        }
        finally
        {
            _publishing.Release();
        }

        logger.LogInformation(LogTemplates.Published, order.OrderId, settings.Queue);
    }

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

        _publishing.Dispose();
    }
}
