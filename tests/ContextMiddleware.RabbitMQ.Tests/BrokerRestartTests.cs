using System.Collections.Concurrent;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using RabbitMQ.Client;

namespace ContextMiddleware.RabbitMQ.Tests;

/// <summary>The broker stops and starts while messages are in flight: after the client recovers, every message is processed in its own context.</summary>
[Collection(nameof(RabbitMQClientTracing))]
public sealed class BrokerRestartTests
{
    [Fact]
    public async Task BrokerStoppedAndStarted_EveryMessageIsProcessedInItsOwnContext_NoneLost()
    {
        const int Requests = 20, PerRequest = 10, Total = Requests * PerRequest;
        await using var connection = await Broker.ConnectAsync();
        await using var publishChannel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await using var consumeChannel = await connection.CreateChannelAsync();
        var queue = (await publishChannel.QueueDeclareAsync($"test-restart-{Guid.NewGuid():N}", durable: true, exclusive: false, autoDelete: false)).QueueName;
        try
        {
            await using var app = await TestApp.StartAsync(
                app =>
                {
                    app.UseRequestContext();
                    app.MapPost("/orders/{id:int}", async (int id, RequestContextPublisher publisher) =>
                    {
                        for (var i = 0; i < PerRequest; i++)
                        {
                            // Persistent, confirmed: the broker has each message on disk before the request answers.
                            await publisher.PublishAsync(publishChannel, "", queue, Encoding.UTF8.GetBytes($"{id}:{i}"), new BasicProperties { Persistent = true }, mandatory: true);
                        }

                        return "ok";
                    });
                },
                builder => builder.Services.AddRequestContextRabbitMQ(),
                kestrel: true);

            await Parallel.ForEachAsync(Enumerable.Range(0, Requests), async (id, token) =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, $"/orders/{id}");
                request.Headers.Add("X-Request-ID", $"order-{id}");
                (await app.Client.SendAsync(request, token)).EnsureSuccessStatusCode();
            });

            // A slow consumer: most messages are still queued or unacknowledged when the broker stops.
            var processed = new ConcurrentDictionary<string, ConcurrentBag<string?>>();
            var redelivered = 0;
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await consumeChannel.BasicQosAsync(0, 10, false);
            var consumer = new RequestContextConsumer(consumeChannel, app.App.Services, async (message, token) =>
            {
                await Task.Delay(10, CancellationToken.None);
                if (message.Redelivered)
                {
                    Interlocked.Increment(ref redelivered);
                }

                processed.GetOrAdd(Encoding.UTF8.GetString(message.Body.Span), _ => []).Add(RequestContext.RequestId.Get());
                if (processed.Count >= 30)
                {
                    started.TrySetResult();
                }
            });
            await consumeChannel.BasicConsumeAsync(queue, autoAck: false, consumer);
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));

            var beforeStop = processed.Count;
            await Broker.StopAndStartAsync(TimeSpan.FromSeconds(2));
            await Wait.UntilAsync(() => processed.Count == Total, seconds: 90, what: $"all {Total} messages processed after the broker restarted (processed {processed.Count})");

            Assert.Equal(Total, processed.Count);
            Assert.True(beforeStop < Total / 2, $"{beforeStop} of {Total} were processed before the broker stopped");
            Assert.True(redelivered > 0, "the unacknowledged deliveries came back after the restart");
            Assert.DoesNotContain(app.Logs.Records, record => record.EventId.Name == "MessageHandlerFailed");
            var mismatches = processed
                .SelectMany(item => item.Value.Where(requestId => requestId != $"order-{item.Key.Split(':')[0]}").Select(requestId => $"{item.Key}: {requestId}"))
                .ToList();
            Assert.Empty(mismatches);
        }
        finally
        {
            await using var cleanup = await connection.CreateChannelAsync();
            await cleanup.QueueDeleteAsync(queue);
        }
    }
}
