using RabbitMQ.Client;

namespace ContextMiddleware.Distributed;

/// <summary>
/// The settings every role reads: the <c>Distributed</c> section of appsettings.json, the environment
/// (<c>Distributed__Queue</c>) and the command line (<c>--Distributed:Queue=orders</c>).
/// </summary>
internal sealed class DistributedSettings
{
    public const string SectionName = "Distributed";

    /// <summary>How the process writes its log events to standard output.</summary>
    public LogFormat LogFormat { get; set; } = LogFormat.Text;

    /// <summary>The queue the API publishes orders to and the worker consumes (on the default exchange).</summary>
    public string Queue { get; set; } = "orders";

    /// <summary>The PostgreSQL schema of Hangfire's tables (created when missing).</summary>
    public string HangfireSchema { get; set; } = "distributed";

    public RabbitMQSettings RabbitMQ { get; set; } = new();

    /// <summary>The connection string of the PostgreSQL database Hangfire stores its jobs in.</summary>
    public string PostgreSql { get; set; } =
        "Host=127.0.0.1;Port=5432;Username=contextmiddleware;Password=contextmiddleware;Database=contextmiddleware;Timeout=5";

    /// <summary>Stops the process when its standard input closes (the demo's way to stop its children).</summary>
    public bool StopWhenInputCloses { get; set; }

    public static DistributedSettings From(IConfiguration configuration) =>
        configuration.GetSection(SectionName).Get<DistributedSettings>() ?? new DistributedSettings();
}

/// <summary>Where the RabbitMQ broker is.</summary>
internal sealed class RabbitMQSettings
{
    public string HostName { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 5672;

    public string UserName { get; set; } = "guest";

    public string Password { get; set; } = "guest";

    public ConnectionFactory CreateFactory() => new()
    {
        HostName = HostName,
        Port = Port,
        UserName = UserName,
        Password = Password,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
    };
}

/// <summary>How a process writes its log events.</summary>
internal enum LogFormat
{
    /// <summary>A console line per event (<see cref="DistributedLogging.TextTemplate"/>).</summary>
    Text,

    /// <summary>Compact JSON (CLEF), one event a line, every property included: what the demo parses back.</summary>
    Json,
}
