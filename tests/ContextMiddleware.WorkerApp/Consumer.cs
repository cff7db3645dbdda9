using ContextMiddleware.AspNetCore;

namespace ContextMiddleware.WorkerApp;

/// <summary>A message: its headers.</summary>
internal sealed record Message(Dictionary<string, string> Headers);

/// <summary>Handles the one message in the context it carries, then stops the host.</summary>
internal sealed partial class Consumer(
    Message message, IRequestContextPropagator propagator, ILogger<Consumer> logger, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var context = propagator.Extract(message.Headers);
        await propagator.RunAsync(context, async () =>
        {
            await Task.Yield();
            LogHandled(logger);
        });
        lifetime.StopApplication();
    }

    [LoggerMessage(1, LogLevel.Information, "Handled the message")]
    private static partial void LogHandled(ILogger logger);
}

/// <summary>Reads <c>--header name=value</c> arguments.</summary>
internal static class Headers
{
    public static Dictionary<string, string> Parse(string[] args)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i + 1 < args.Length; i++)
        {
            if (args[i] == "--header" && args[i + 1].Split('=', 2) is [var name, var value])
            {
                headers[name] = value;
            }
        }

        return headers;
    }
}
