using Npgsql;

namespace ContextMiddleware.Hangfire.Tests;

/// <summary>
/// The PostgreSQL server on 127.0.0.1:5432 with the role and database "contextmiddleware" (Debian's postgresql, set up by
/// .ci/servers.sh, which .ci/run calls and a developer runs once). A missing server fails each test with a message saying so.
/// </summary>
public static class Postgres
{
    public const string ConnectionString =
        "Host=127.0.0.1;Port=5432;Username=contextmiddleware;Password=contextmiddleware;Database=contextmiddleware;Timeout=5";

    /// <summary>Checks the server is there, with a clear message when it is not.</summary>
    public static async Task EnsureAvailableAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            throw new InvalidOperationException(
                "No PostgreSQL server with the role and database 'contextmiddleware' on 127.0.0.1:5432. Run .ci/servers.sh (it installs and starts PostgreSQL and RabbitMQ), as .ci/run does.",
                exception);
        }
    }

    public static async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }
}
