using System.Collections.Concurrent;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Hosting;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Review probes for IBackgroundWorkQueue: hung items, shutdown with requests in flight, concurrency.</summary>
public class BackgroundQueueSeamTests
{
    [Fact]
    public async Task ItemThatBlocksBeforeItsFirstAwait_DoesNotBlockTheItemsAfterIt()
    {
        // "One hung item does not block every other item forever" (issue 11, item 6): an item hung in synchronous code
        // (a blocking call before its first await) never returns its Task, so ItemTimeout never applies.
        using var release = new ManualResetEventSlim();
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/hang", async (IBackgroundWorkQueue queue) =>
                {
                    await queue.QueueAsync(_ =>
                    {
                        release.Wait(TimeSpan.FromSeconds(30), CancellationToken.None); // hangs (released at the end of the test)
                        return Task.CompletedTask;
                    });
                    return Results.Accepted();
                });
                app.MapPost("/next", async (IBackgroundWorkQueue queue) =>
                {
                    await queue.QueueAsync(_ =>
                    {
                        ran.TrySetResult();
                        return Task.CompletedTask;
                    });
                    return Results.Accepted();
                });
            },
            builder => builder.Services.AddRequestContextBackgroundQueue(options => options.ItemTimeout = TimeSpan.FromMilliseconds(300)),
            kestrel: true);

        try
        {
            (await app.Client.PostAsync("/hang", null)).EnsureSuccessStatusCode();
            (await app.Client.PostAsync("/next", null)).EnsureSuccessStatusCode();

            var completed = await Task.WhenAny(ran.Task, Task.Delay(TimeSpan.FromSeconds(5)));
            Assert.True(completed == ran.Task, "the item after a synchronously hung one did not run within 5 s (ItemTimeout is 300 ms)");
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task ItemQueuedByARequestStillInFlightWhenTheHostStops_Runs()
    {
        var inRequest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new ConcurrentQueue<string?>();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/late", async (IBackgroundWorkQueue queue) =>
                {
                    inRequest.TrySetResult();
                    await stopping.Task; // the host is stopping now
                    await Task.Delay(200);
                    await queue.QueueAsync(async _ =>
                    {
                        await Task.Delay(50, CancellationToken.None);
                        ran.Enqueue(RequestContext.RequestId.Get());
                    });
                    return Results.Accepted();
                });
            },
            builder => builder.Services.AddRequestContextBackgroundQueue(options => options.MaxConcurrency = 3),
            kestrel: true);
        app.App.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        var request = new HttpRequestMessage(HttpMethod.Post, "/late");
        request.Headers.Add("X-Request-ID", "req-late");

        var sending = app.Client.SendAsync(request);
        await inRequest.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await app.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var response = await sending;

        response.EnsureSuccessStatusCode();
        Assert.Equal("req-late", Assert.Single(ran));
    }
}
