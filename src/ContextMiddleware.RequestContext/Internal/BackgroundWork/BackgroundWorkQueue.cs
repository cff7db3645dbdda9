using System.Diagnostics;
using System.Threading.Channels;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Tracing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.BackgroundWork;

/// <summary>
/// The bounded queue and the workers that drain it, each item in its captured context, under an Activity that is a
/// child of its request's span.
/// </summary>
/// <remarks>
/// The queue drains in <see cref="StoppedAsync"/>, after every hosted service has stopped (the server among them, so
/// the requests it finished could still queue work), within what is left of the host's shutdown timeout. When that
/// runs out, the running items' tokens are cancelled and what was not run is counted in one Warning.
/// </remarks>
internal sealed class BackgroundWorkQueue : IBackgroundWorkQueue, IHostedLifecycleService, IDisposable
{
    private readonly ILogger<BackgroundWorkQueue> _logger;
    private readonly BackgroundWorkQueueOptions _options;
    private readonly Channel<WorkItem> _channel;
    private readonly CancellationTokenSource _abort = new();
    private Task _workers = Task.CompletedTask;
    private int _running;
    private int _disposed;

    public BackgroundWorkQueue(ILogger<BackgroundWorkQueue> logger, IOptions<BackgroundWorkQueueOptions> options)
    {
        _logger = logger;
        _options = options.Value;
        _channel = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(_options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = _options.MaxConcurrency == 1,
        });
    }

    public ValueTask QueueAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return _channel.Writer.WriteAsync(new WorkItem(work, Context.CopyCurrent()), cancellationToken);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Workers start from a flow of their own, never from whatever context starts the host.
        using (ExecutionContext.SuppressFlow())
        {
            _workers = Task.WhenAll(Enumerable.Range(0, _options.MaxConcurrency).Select(_ => Task.Run(WorkAsync)));
        }

        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        _channel.Writer.TryComplete();
        try
        {
            await _workers.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _abort.CancelAsync();
            Log.BackgroundWorkNotRun(_logger, _channel.Reader.Count, Volatile.Read(ref _running));
        }
    }

    // The container disposes it once per registration that hands it out; the first time counts.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _channel.Writer.TryComplete();
            _abort.Cancel();
            _abort.Dispose();
        }
    }

    private async Task WorkAsync()
    {
        while (await _channel.Reader.WaitToReadAsync())
        {
            if (_abort.IsCancellationRequested || !_channel.Reader.TryRead(out var item))
            {
                if (_abort.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            Interlocked.Increment(ref _running);
            try
            {
                await ContextActivities.RunAsync(
                    item.Context, () => RunAsync(item.Work), ContextActivities.BackgroundWorkActivityName, ActivityKind.Internal, displayName: null);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }

    // Runs inside the item's context, so what is logged carries the request's ids.
    private async Task RunAsync(Func<CancellationToken, Task> work)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);

        // On the thread pool: an item that blocks before its first await (synchronous I/O, a lock) must not hold this
        // worker while its timeout runs. An item that throws before returning a task fails the task.
        var task = Task.Run(() => work(cancellation.Token), CancellationToken.None);

        try
        {
            await task.WaitAsync(_options.ItemTimeout, _abort.Token);
        }
        catch (TimeoutException) when (!task.IsCompleted)
        {
            await cancellation.CancelAsync();
            Activity.Current?.SetStatus(ActivityStatusCode.Error, nameof(TimeoutException));
            Log.BackgroundWorkTimedOut(_logger, _options.ItemTimeout);
            _ = task.ContinueWith(static done => _ = done.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            // Stopped by the host's shutdown timeout: counted in the Warning that reports what did not run.
        }
        catch (Exception exception)
        {
            Failed(exception);
        }
    }

    private void Failed(Exception exception)
    {
        Activity.Current?.SetTag("error.type", exception.GetType().FullName);
        Activity.Current?.SetStatus(ActivityStatusCode.Error, exception.GetType().FullName);
        Log.BackgroundWorkFailed(_logger, exception);
    }

    private readonly record struct WorkItem(Func<CancellationToken, Task> Work, Context Context);
}
