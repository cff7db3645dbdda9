using RabbitMQ.Client;

namespace ContextMiddleware.RabbitMQ.Tests;

/// <summary>
/// The RabbitMQ server on 127.0.0.1:5672 (Debian's rabbitmq-server, started by .ci/run; on a developer's machine by the
/// script the README names). Outside CI a missing server fails each test with a message saying so.
/// </summary>
public static class Broker
{
    public static async Task<IConnection> ConnectAsync()
    {
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = 5672, AutomaticRecoveryEnabled = true, NetworkRecoveryInterval = TimeSpan.FromSeconds(1) };
        try
        {
            return await factory.CreateConnectionAsync();
        }
        catch (Exception exception) when (exception is global::RabbitMQ.Client.Exceptions.BrokerUnreachableException)
        {
            throw new InvalidOperationException(
                "No RabbitMQ server on 127.0.0.1:5672. Install and start it (apt-get install rabbitmq-server; rabbitmq-server -detached), as .ci/run does.",
                exception);
        }
    }

    /// <summary>A queue of its own for one test, deleted when the connection closes.</summary>
    public static async Task<string> DeclareQueueAsync(IChannel channel)
    {
        var queue = await channel.QueueDeclareAsync($"test-{Guid.NewGuid():N}", durable: false, exclusive: false, autoDelete: true);
        return queue.QueueName;
    }
}
