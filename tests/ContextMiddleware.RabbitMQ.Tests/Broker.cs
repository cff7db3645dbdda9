using ContextMiddleware.Testing;
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

    /// <summary>
    /// Stops the broker's application (every connection drops, in-flight deliveries are not acknowledged), waits, and
    /// starts it again, with <c>rabbitmqctl</c> (as root, or through sudo, as .ci/servers.sh runs it).
    /// </summary>
    public static async Task StopAndStartAsync(TimeSpan down)
    {
        // Other test assemblies, run in parallel, need the broker up all along (the distributed demo's test): not meanwhile.
        using var broker = await MachineLock.AcquireAsync(MachineLock.RabbitMQBroker, TimeSpan.FromMinutes(5));
        await RabbitMqCtlAsync("stop_app");
        await Task.Delay(down);
        await RabbitMqCtlAsync("start_app");
    }

    /// <summary>
    /// Runs <c>rabbitmqctl</c> (as root, or through sudo, as .ci/servers.sh runs it) and returns what it wrote to standard
    /// output; a failure throws with everything it wrote.
    /// </summary>
    public static async Task<string> RabbitMqCtlAsync(params string[] arguments)
    {
        var root = Environment.UserName == "root";
        var start = new System.Diagnostics.ProcessStartInfo(root ? "rabbitmqctl" : "sudo")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (!root)
        {
            start.ArgumentList.Add("-n");
            start.ArgumentList.Add("rabbitmqctl");
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmqctl {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}{await output}");
        }

        return await output;
    }

    /// <summary>A queue of its own for one test, deleted when the connection closes.</summary>
    public static async Task<string> DeclareQueueAsync(IChannel channel)
    {
        var queue = await channel.QueueDeclareAsync($"test-{Guid.NewGuid():N}", durable: false, exclusive: false, autoDelete: true);
        return queue.QueueName;
    }
}
