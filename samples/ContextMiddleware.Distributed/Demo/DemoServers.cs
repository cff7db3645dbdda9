using System.Net.Sockets;
using Hangfire.PostgreSql;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// The servers the demo needs, RabbitMQ and PostgreSQL: checked before anything starts (a TCP connection to RabbitMQ's
/// port, then a real AMQP connection; a real PostgreSQL connection), then the run's queue and Hangfire schema created,
/// and both removed at the end.
/// </summary>
internal sealed class DemoServers(DistributedSettings settings)
{
    /// <summary>What is wrong with the servers, in words; empty when both answered.</summary>
    public async Task<List<string>> CheckAsync(CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        var rabbit = settings.RabbitMQ;
        try
        {
            using var tcp = new TcpClient();
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(TimeSpan.FromSeconds(3));
            await tcp.ConnectAsync(rabbit.HostName, rabbit.Port, connect.Token);
        }
        catch (Exception exception) when (exception is SocketException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            problems.Add($"RabbitMQ: nothing accepts connections on {rabbit.HostName}:{rabbit.Port} ({Reason(exception)})");
        }

        if (problems.Count == 0)
        {
            try
            {
                await using var connection = await rabbit.CreateFactory().CreateConnectionAsync("ContextMiddleware.Distributed demo (check)", cancellationToken);
            }
            catch (Exception exception) when (exception is BrokerUnreachableException or OperationInterruptedException or IOException)
            {
                problems.Add($"RabbitMQ: {rabbit.HostName}:{rabbit.Port} accepts TCP but no AMQP connection as '{rabbit.UserName}' ({Reason(exception)})");
            }
        }

        try
        {
            await using var connection = new NpgsqlConnection(settings.PostgreSql);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or ArgumentException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var builder = new NpgsqlConnectionStringBuilder(settings.PostgreSql);
            problems.Add($"PostgreSQL: no connection to database '{builder.Database}' on {builder.Host}:{builder.Port} as '{builder.Username}' ({Reason(exception)})");
        }

        return problems;
    }

    /// <summary>Declares the run's queue and installs its Hangfire schema, before the processes start.</summary>
    public async Task PrepareAsync(string queue, string schema, CancellationToken cancellationToken)
    {
        await using (var connection = await settings.RabbitMQ.CreateFactory().CreateConnectionAsync("ContextMiddleware.Distributed demo", cancellationToken))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken))
        {
            await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false, cancellationToken: cancellationToken);
        }

        // Installed here, once, so that the API and the jobs process (which prepare it when missing) find it ready.
        await using var database = new NpgsqlConnection(settings.PostgreSql);
        await database.OpenAsync(cancellationToken);
        PostgreSqlObjectsInstaller.Install(database, schema);
    }

    /// <summary>Deletes the run's queue and drops its schema; says what it did, or what failed.</summary>
    public async Task<List<string>> CleanUpAsync(string queue, string schema, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var done = new List<string>();
        try
        {
            await using var connection = await settings.RabbitMQ.CreateFactory().CreateConnectionAsync("ContextMiddleware.Distributed demo (clean-up)", cancellation.Token);
            await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellation.Token);
            await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: cancellation.Token);
            done.Add($"deleted queue {queue}");
        }
        catch (Exception exception)
        {
            done.Add($"could not delete queue {queue} ({Reason(exception)})");
        }

        try
        {
            await using var connection = new NpgsqlConnection(settings.PostgreSql);
            await connection.OpenAsync(cancellation.Token);
            await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
            await command.ExecuteNonQueryAsync(cancellation.Token);
            done.Add($"dropped schema {schema}");
        }
        catch (Exception exception)
        {
            done.Add($"could not drop schema {schema} ({Reason(exception)})");
        }

        return done;
    }

    private static string Reason(Exception exception)
    {
        var innermost = exception;
        while (innermost.InnerException is not null)
        {
            innermost = innermost.InnerException;
        }

        return innermost is OperationCanceledException ? "timed out" : innermost.Message;
    }
}
