namespace ContextMiddleware.Distributed;

/// <summary>The three processes of an order, by the command that starts each.</summary>
internal static class Roles
{
    /// <summary>The API: takes the order, publishes a message and enqueues a job (a Hangfire client only).</summary>
    public const string Api = "api";

    /// <summary>The worker: consumes the order's message from RabbitMQ.</summary>
    public const string Worker = "worker";

    /// <summary>The jobs process: a Hangfire server that performs the order's job.</summary>
    public const string Jobs = "jobs";

    public static readonly IReadOnlyList<string> All = [Api, Worker, Jobs];
}
