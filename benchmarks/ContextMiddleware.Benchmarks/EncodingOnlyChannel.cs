using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// A channel with no broker behind it: a publish encodes the message's content header (its properties and headers) as
/// the client does before writing it to the socket, and returns. Everything else is not supported.
/// </summary>
public sealed class EncodingOnlyChannel : IChannel
{
    /// <summary>The bytes encoded so far (kept, so that the work is not optimised away).</summary>
    public long Written { get; private set; }

    public int ChannelNumber => throw new NotSupportedException();

    public ShutdownEventArgs? CloseReason => throw new NotSupportedException();

    public IAsyncBasicConsumer? DefaultConsumer { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public bool IsClosed => throw new NotSupportedException();

    public bool IsOpen => throw new NotSupportedException();

    public string? CurrentQueue => throw new NotSupportedException();

    public TimeSpan ContinuationTimeout { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public event AsyncEventHandler<BasicAckEventArgs> BasicAcksAsync { add { } remove { } }

    public event AsyncEventHandler<BasicNackEventArgs> BasicNacksAsync { add { } remove { } }

    public event AsyncEventHandler<BasicReturnEventArgs> BasicReturnAsync { add { } remove { } }

    public event AsyncEventHandler<CallbackExceptionEventArgs> CallbackExceptionAsync { add { } remove { } }

    public event AsyncEventHandler<FlowControlEventArgs> FlowControlAsync { add { } remove { } }

    public event AsyncEventHandler<ShutdownEventArgs> ChannelShutdownAsync { add { } remove { } }

    public ValueTask<ulong> GetNextPublishSequenceNumberAsync(CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public ValueTask BasicAckAsync(ulong deliveryTag, bool multiple, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public ValueTask BasicNackAsync(ulong deliveryTag, bool multiple, bool requeue, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task BasicCancelAsync(string consumerTag, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<string> BasicConsumeAsync(string queue, bool autoAck, string consumerTag, bool noLocal, bool exclusive, IDictionary<string, object?>? arguments, IAsyncBasicConsumer consumer, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<BasicGetResult?> BasicGetAsync(string queue, bool autoAck, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public ValueTask BasicPublishAsync<TProperties>(string exchange, string routingKey, bool mandatory, TProperties basicProperties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default(CancellationToken)) where TProperties : IReadOnlyBasicProperties, IAmqpHeader
    {
        // What the client does with the properties of every publish: encode the content header (headers included).
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(basicProperties.GetRequiredBufferSize());
        Written += basicProperties.WriteTo(buffer);
        System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        return default;
    }

    public ValueTask BasicPublishAsync<TProperties>(CachedString exchange, CachedString routingKey, bool mandatory, TProperties basicProperties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default(CancellationToken)) where TProperties : IReadOnlyBasicProperties, IAmqpHeader => throw new NotSupportedException();

    public Task BasicQosAsync(uint prefetchSize, ushort prefetchCount, bool global, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public ValueTask BasicRejectAsync(ulong deliveryTag, bool requeue, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task CloseAsync(ushort replyCode, string replyText, bool abort, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task CloseAsync(ShutdownEventArgs reason, bool abort) => throw new NotSupportedException();

    public Task CloseAsync(ShutdownEventArgs reason, bool abort, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task ExchangeDeclareAsync(string exchange, string type, bool durable, bool autoDelete, IDictionary<string, object?>? arguments = null, bool passive = false, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task ExchangeDeclarePassiveAsync(string exchange, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task ExchangeDeleteAsync(string exchange, bool ifUnused = false, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task ExchangeBindAsync(string destination, string source, string routingKey, IDictionary<string, object?>? arguments = null, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task ExchangeUnbindAsync(string destination, string source, string routingKey, IDictionary<string, object?>? arguments = null, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<QueueDeclareOk> QueueDeclareAsync(string queue, bool durable, bool exclusive, bool autoDelete, IDictionary<string, object?>? arguments = null, bool passive = false, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<QueueDeclareOk> QueueDeclarePassiveAsync(string queue, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<uint> QueueDeleteAsync(string queue, bool ifUnused, bool ifEmpty, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<uint> QueuePurgeAsync(string queue, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task QueueBindAsync(string queue, string exchange, string routingKey, IDictionary<string, object?>? arguments = null, bool noWait = false, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task QueueUnbindAsync(string queue, string exchange, string routingKey, IDictionary<string, object?>? arguments = null, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<uint> MessageCountAsync(string queue, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task<uint> ConsumerCountAsync(string queue, CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task TxCommitAsync(CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task TxRollbackAsync(CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public Task TxSelectAsync(CancellationToken cancellationToken = default(CancellationToken)) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    public ValueTask DisposeAsync() => default;
}
