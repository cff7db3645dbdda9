using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using ContextMiddleware.AspNetCore;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>What an invocation saw of its request context, at one point of its call chain.</summary>
public sealed record Observed(
    string? Tag,
    string? RequestId,
    string? TraceId,
    string? SpanId,
    string? ActivityTraceId,
    string? UserId,
    string? ConnectionRequestId,
    string? Hub,
    string? HubMethod)
{
    public static Observed Now(string? tag) => new(
        tag,
        RequestContext.RequestId.Get(),
        RequestContext.Trace.Get()?.TraceId,
        RequestContext.Trace.Get()?.SpanId,
        Activity.Current?.TraceId.ToHexString(),
        RequestContext.User.Get().Id,
        HubRequestContext.ConnectionRequestId,
        HubRequestContext.Hub,
        HubRequestContext.HubMethod);
}

/// <summary>What OnConnectedAsync and OnDisconnectedAsync saw, by connection id.</summary>
public sealed class LifetimeRecorder
{
    public System.Collections.Concurrent.ConcurrentDictionary<string, Observed> Connected { get; } = new();

    public System.Collections.Concurrent.ConcurrentDictionary<string, Observed> Disconnected { get; } = new();
}

public sealed class ContextHub(ILogger<ContextHub> logger, LifetimeRecorder lifetimes, IBackgroundWorkQueue jobs) : Hub
{
    public override Task OnConnectedAsync()
    {
        logger.LogInformation("Connected {Tag}", Context.ConnectionId);
        lifetimes.Connected[Context.ConnectionId] = Observed.Now(Context.ConnectionId);
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        logger.LogInformation("Disconnected {Tag}", Context.ConnectionId);
        lifetimes.Disconnected[Context.ConnectionId] = Observed.Now(Context.ConnectionId);
        return Task.CompletedTask;
    }

    /// <summary>Logs, yields, and looks again from a Task.Run child: all three must agree.</summary>
    public async Task<Observed[]> Echo(string tag)
    {
        logger.LogInformation("Echo {Tag}", tag);
        var before = Observed.Now(tag);
        await Task.Delay(Random.Shared.Next(0, 3));
        var child = await Task.Run(() =>
        {
            logger.LogInformation("Echo child {Tag}", tag);
            return Observed.Now(tag);
        });
        logger.LogInformation("Echo after {Tag}", tag);
        return [before, child, Observed.Now(tag)];
    }

    public string Plain(string value) => value;

    /// <summary>Sets a request property from a child task, logs, and returns what the invocation sees.</summary>
    public async Task<string?> Property(string tag)
    {
        var before = RequestContext.Properties.TryGet("tag", out var seen) ? seen?.ToString() : null;
        await Task.Run(() => RequestContext.Properties.Set("tag", tag));
        logger.LogInformation("Property {Tag}", tag);
        return before;
    }

    /// <summary>Queues background work that logs after the invocation returned.</summary>
    public async Task<Observed> Queue(string tag)
    {
        await jobs.QueueAsync(async cancellationToken =>
        {
            await Task.Delay(20, cancellationToken);
            logger.LogInformation("Queued {Tag}", tag);
            lifetimes.Connected[$"job-{tag}"] = Observed.Now(tag);
        });
        return Observed.Now(tag);
    }

    public void Fail(string tag)
    {
        logger.LogInformation("Fail {Tag}", tag);
        throw new InvalidOperationException("boom");
    }

    public async IAsyncEnumerable<Observed> Count(string tag, int count, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(1, cancellationToken);
            logger.LogInformation("Count {Tag}", tag);
            yield return Observed.Now(tag);
        }
    }

    public ChannelReader<Observed> CountChannel(string tag, int count)
    {
        var channel = Channel.CreateUnbounded<Observed>();
        _ = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await Task.Delay(1);
                logger.LogInformation("CountChannel {Tag}", tag);
                await channel.Writer.WriteAsync(Observed.Now(tag));
            }

            channel.Writer.Complete();
        });
        return channel.Reader;
    }

    public async Task<Observed[]> Upload(string tag, IAsyncEnumerable<string> items)
    {
        var seen = new List<Observed>();
        await foreach (var item in items)
        {
            logger.LogInformation("Upload {Tag}", tag);
            seen.Add(Observed.Now(tag));
        }

        return [.. seen];
    }

    public async Task<Observed[]> UploadChannel(string tag, ChannelReader<string> items)
    {
        var seen = new List<Observed>();
        await foreach (var item in items.ReadAllAsync())
        {
            logger.LogInformation("UploadChannel {Tag}", tag);
            seen.Add(Observed.Now(tag));
        }

        return [.. seen];
    }
}
