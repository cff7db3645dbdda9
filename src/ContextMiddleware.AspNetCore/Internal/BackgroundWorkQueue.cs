using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>The bounded queue and the hosted service that drains it, each item in its captured context.</summary>
internal sealed partial class BackgroundWorkQueue(ILogger<BackgroundWorkQueue> logger, int capacity)
    : BackgroundService, IBackgroundWorkQueue
{
    private readonly Channel<WorkItem> _channel = Channel.CreateBounded<WorkItem>(
        new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    public ValueTask QueueAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _channel.Writer.WriteAsync(new WorkItem(work, Context.CopyCurrent()), cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var item in _channel.Reader.ReadAllAsync(stoppingToken))
        {
            await item.Context.Run(() => RunAsync(item.Work, stoppingToken));
        }
    }

    // Runs inside the item's context, so the failure is logged with the request's ids. The item gets an Activity of
    // its own, a child of its request's span: the work's logs and outgoing calls stay in the request's trace.
    private async Task RunAsync(Func<CancellationToken, Task> work, CancellationToken stoppingToken)
    {
        using var activity = ContextActivities.StartBackgroundWork();
        try
        {
            await work(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
            LogWorkFailed(logger, exception);
        }
    }

    [LoggerMessage(20, LogLevel.Error, "A queued background work item failed.", EventName = "BackgroundWorkFailed")]
    private static partial void LogWorkFailed(ILogger logger, Exception exception);

    private readonly record struct WorkItem(Func<CancellationToken, Task> Work, Context Context);
}
