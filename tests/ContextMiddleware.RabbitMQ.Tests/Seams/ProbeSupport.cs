using System.Collections.Concurrent;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace ContextMiddleware.RabbitMQ.Tests.Seams;

/// <summary>A consumer's worker for the probes: its services (the RabbitMQ integration, a tenant registered as baggage), its logs, and what its handlers saw.</summary>
internal sealed class ProbeWorker<TSeen> : IAsyncDisposable
{
    public required ServiceProvider Services { get; init; }

    public required LogCollector Logs { get; init; }

    public ConcurrentQueue<TSeen> Seen { get; } = new();

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}

/// <summary>What the review probes share: a worker, raw publishing, queues that outlive their consumers, header text.</summary>
internal static class ProbeSupport
{
    public static ProbeWorker<TSeen> NewWorker<TSeen>(
        ContextVar<string?> tenant, Action<RequestContextOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var logs = new LogCollector();
        var collection = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
            .AddRequestContextRabbitMQ()
            .Configure<RequestContextOptions>(options =>
            {
                options.Baggage.Add(tenant, "tenant");
                configure?.Invoke(options);
            });
        services?.Invoke(collection);
        return new ProbeWorker<TSeen> { Services = collection.BuildServiceProvider(), Logs = logs };
    }

    /// <summary>Publishes with exactly these headers, as another producer would (no context added).</summary>
    public static async Task PublishRawAsync(IChannel channel, string queue, string body, IDictionary<string, object?>? headers)
    {
        var properties = new BasicProperties { Headers = headers };
        await channel.BasicPublishAsync("", queue, mandatory: false, properties, Encoding.UTF8.GetBytes(body));
    }

    /// <summary>
    /// A queue that outlives its consumers and its connection (so a test can count what came back or was never
    /// settled), expiring after 2 minutes unused.
    /// </summary>
    public static async Task<string> DeclareExpiringQueueAsync(IChannel channel, string name, IDictionary<string, object?>? arguments = null)
    {
        var all = new Dictionary<string, object?>(arguments ?? new Dictionary<string, object?>()) { ["x-expires"] = 120_000 };
        return (await channel.QueueDeclareAsync(name, durable: false, exclusive: false, autoDelete: false, arguments: all)).QueueName;
    }

    /// <summary>A header value as text, as delivered (bytes) or as set (anything else).</summary>
    public static string Text(object? value) => value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value?.ToString() ?? "";
}
