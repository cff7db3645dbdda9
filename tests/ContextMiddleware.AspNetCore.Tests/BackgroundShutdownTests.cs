using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// <see cref="IBackgroundWorkQueue"/> and the host's lifetime: work queued before the host stops is run (within the
/// host's shutdown timeout), each item with its request's id; a failing item is logged and does not stop the queue;
/// a hung item does not block the others forever; what cannot run in time is reported once.
/// </summary>
public class BackgroundShutdownTests
{
    [Fact]
    public async Task StopAsync_ItemsQueuedBeforeTheHostStops_AllRunToCompletion_EachWithItsRequestsId()
    {
        // Arrange
        var completed = new ConcurrentQueue<string?>();
        await using var app = await StartAsync(
            (id, _) => async _ =>
            {
                await Task.Delay(200, CancellationToken.None);
                completed.Enqueue(RequestContext.RequestId.Get());
            });
        for (var i = 0; i < 5; i++)
        {
            await QueueAsync(app, $"req-bg-{i}");
        }

        // Act
        await app.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // Assert
        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => $"req-bg-{i}").Order(),
            completed.Order());
    }

    [Fact]
    public async Task StopAsync_ItemsHonouringTheirToken_QueuedBeforeTheHostStops_AllRunToCompletion()
    {
        // Items that pass their token on, as the interface invites: the host stopping must not cancel work that fits
        // in the shutdown timeout (30 s by default; here 5 items of 200 ms).
        var completed = new ConcurrentQueue<string?>();
        await using var app = await StartAsync(
            (id, _) => async token =>
            {
                await Task.Delay(200, token);
                completed.Enqueue(RequestContext.RequestId.Get());
            });
        for (var i = 0; i < 5; i++)
        {
            await QueueAsync(app, $"req-bgt-{i}");
        }

        await app.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(
            Enumerable.Range(0, 5).Select(i => $"req-bgt-{i}").Order(),
            completed.Order());
    }

    [Fact]
    public async Task FailingItem_IsLoggedWithItsRequestsId_AndLaterItemsStillRun()
    {
        // Guards a requirement (passes today).
        var completed = new ConcurrentQueue<string?>();
        var lastDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(
            (id, _) => async _ =>
            {
                await Task.Yield();
                if (id == "req-bad")
                {
                    throw new InvalidOperationException("item failed");
                }

                completed.Enqueue(RequestContext.RequestId.Get());
                if (id == "req-after")
                {
                    lastDone.TrySetResult();
                }
            });

        await QueueAsync(app, "req-before");
        await QueueAsync(app, "req-bad");
        await QueueAsync(app, "req-after");
        await lastDone.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["req-before", "req-after"], completed);
        var failure = Assert.Single(app.Logs.Records, r => r.Level == LogLevel.Error && r.Exception is InvalidOperationException);
        Assert.Equal("req-bad", failure.RequestId);
    }

    [Fact]
    public async Task HungItem_DoesNotBlockTheItemsAfterIt()
    {
        var normalDone = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(
            (id, _) => async _ =>
            {
                if (id == "req-hung")
                {
                    await Task.Delay(Timeout.Infinite, CancellationToken.None); // ignores every token
                }

                normalDone.TrySetResult(RequestContext.RequestId.Get());
            },
            shutdownTimeout: TimeSpan.FromSeconds(2),
            itemTimeout: TimeSpan.FromSeconds(1));

        await QueueAsync(app, "req-hung");
        await QueueAsync(app, "req-normal");

        var finished = await Task.WhenAny(normalDone.Task, Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(finished == normalDone.Task, "the item queued after a hung item did not run within 10 seconds");
        Assert.Equal("req-normal", await normalDone.Task);
        var timedOut = Assert.Single(app.Logs.Records, r => r.EventId.Name == "BackgroundWorkTimedOut");
        Assert.Equal(LogLevel.Warning, timedOut.Level);
        Assert.Equal("req-hung", timedOut.RequestId);
    }

    [Fact]
    public async Task ShortShutdownTimeout_MorePendingWorkThanFits_OneWarningGivesTheCountOfItemsNotRun()
    {
        // Arrange: 20 items of 200 ms, a 1 second shutdown timeout.
        const int items = 20;
        var started = 0;
        var completed = 0;
        await using var app = await StartAsync(
            (_, _) => async _ =>
            {
                Interlocked.Increment(ref started);
                await Task.Delay(200, CancellationToken.None);
                Interlocked.Increment(ref completed);
            },
            shutdownTimeout: TimeSpan.FromSeconds(1));
        for (var i = 0; i < items; i++)
        {
            await QueueAsync(app, $"req-many-{i}");
        }

        // Act
        try
        {
            await app.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (OperationCanceledException)
        {
        }

        await Task.Delay(500);

        // Assert: "not run" counted as never started, or as not completed (an item abandoned at the timeout).
        var neverStarted = items - Volatile.Read(ref started);
        var notCompleted = items - Volatile.Read(ref completed);
        Assert.True(neverStarted > 0, $"every item started ({items}); the test needs more work than fits");
        var pattern = new Regex($@"(?<![0-9])({neverStarted}|{notCompleted})(?![0-9])", RegexOptions.None, TimeSpan.FromSeconds(1));
        var warnings = app.Logs.Records.Where(r => r.Level == LogLevel.Warning && pattern.IsMatch(r.AllText)).ToList();
        Assert.True(
            warnings.Count == 1,
            $"expected one Warning giving the {neverStarted} items not run ({notCompleted} not completed), got {warnings.Count}; " +
            $"warnings: [{string.Join(" || ", app.Logs.Records.Where(r => r.Level == LogLevel.Warning).Select(r => r.Message))}]");
    }

    [Fact]
    public async Task DefaultMaxConcurrency_ItemsRunOneAtATime_InTheOrderTheyWereQueued()
    {
        // README: "MaxConcurrency (1: one at a time, in order)".
        var order = new ConcurrentQueue<string?>();
        var running = 0;
        var overlapped = false;
        await using var app = await StartAsync(
            (id, _) => async _ =>
            {
                overlapped |= Interlocked.Increment(ref running) > 1;
                await Task.Delay(20, CancellationToken.None);
                order.Enqueue(RequestContext.RequestId.Get());
                Interlocked.Decrement(ref running);
            });
        for (var i = 0; i < 8; i++)
        {
            await QueueAsync(app, $"req-order-{i}");
        }

        await app.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(overlapped, "two items ran at once with MaxConcurrency 1");
        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"req-order-{i}"), order);
    }

    [Fact]
    public async Task QueueAsync_AfterTheHostStopped_ThrowsInvalidOperationException()
    {
        // README: "When the host stops, the queue takes no new items"; IBackgroundWorkQueue.QueueAsync documents an
        // InvalidOperationException.
        await using var app = await StartAsync((id, _) => _ => Task.CompletedTask);
        var queue = app.App.Services.GetRequiredService<IBackgroundWorkQueue>();
        await app.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));

        await Assert.ThrowsAnyAsync<InvalidOperationException>(async () => await queue.QueueAsync(_ => Task.CompletedTask));
    }

    /// <summary>Starts an app whose <c>POST /queue</c> queues the work <paramref name="work"/> makes for the request's id.</summary>
    private static Task<TestApp> StartAsync(
        Func<string, IServiceProvider, Func<CancellationToken, Task>> work, TimeSpan? shutdownTimeout = null, TimeSpan? itemTimeout = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/queue", async (IBackgroundWorkQueue queue, HttpContext context) =>
                {
                    await queue.QueueAsync(work(RequestContext.RequestId.Get()!, context.RequestServices));
                    return Results.Accepted();
                });
            },
            builder =>
            {
                builder.Services.AddRequestContextBackgroundQueue(options => options.ItemTimeout = itemTimeout ?? options.ItemTimeout);
                if (shutdownTimeout is { } timeout)
                {
                    builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = timeout);
                }
            },
            kestrel: true);

    private static async Task QueueAsync(TestApp app, string requestId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/queue");
        request.Headers.Add("X-Request-ID", requestId);
        (await app.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(10))).EnsureSuccessStatusCode();
    }
}
