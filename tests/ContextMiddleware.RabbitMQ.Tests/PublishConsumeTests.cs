using System.Collections.Concurrent;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace ContextMiddleware.RabbitMQ.Tests;

/// <summary>Messages published from requests over Kestrel, consumed from a real RabbitMQ server, each in its own request's context.</summary>
public sealed class PublishConsumeTests
{
    [Fact]
    public async Task ThousandMessages_FromFiftyConcurrentRequests_AreEachConsumedWithTheirOwnRequestsIds()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var publishChannel = await connection.CreateChannelAsync();
        await using var consumeChannel = await connection.CreateChannelAsync();
        var queue = await Broker.DeclareQueueAsync(publishChannel);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/orders/{id:int}", async (int id, RequestContextPublisher publisher) =>
                {
                    for (var i = 0; i < 20; i++)
                    {
                        await publisher.PublishAsync(publishChannel, "", queue, Encoding.UTF8.GetBytes($"{id}:{i}"));
                    }

                    return RequestContext.RequestId.Get();
                });
            },
            builder => builder.Services.AddRequestContextRabbitMQ(),
            kestrel: true);

        var seen = new ConcurrentDictionary<string, (string? RequestId, string? TraceId)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RequestContextConsumer(
            consumeChannel,
            app.App.Services.GetRequiredService<IRequestContextPropagator>(),
            (message, _) =>
            {
                seen[Encoding.UTF8.GetString(message.Body.Span)] = (RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId);
                if (seen.Count == 1000)
                {
                    done.TrySetResult();
                }

                return Task.CompletedTask;
            },
            app.App.Services.GetRequiredService<ILogger<RequestContextConsumer>>());
        await consumeChannel.BasicConsumeAsync(queue, autoAck: false, consumer);

        var requestIds = new ConcurrentDictionary<int, string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 50), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, token) =>
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"/orders/{id}");
            request.Headers.Add("X-Request-ID", $"order-{id}");
            var response = await app.Client.SendAsync(request, token);
            requestIds[id] = await response.Content.ReadAsStringAsync(token);
        });
        await done.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var mismatches = seen.Where(item => item.Value.RequestId != $"order-{item.Key.Split(':')[0]}").Select(item => $"{item.Key}: {item.Value.RequestId}").ToList();
        Assert.Empty(mismatches);
        Assert.Equal(1000, seen.Count);
        Assert.Equal(50, seen.Values.Select(value => value.TraceId).Distinct().Count());
    }
}

/// <summary>A handler that throws: the message comes back, in its context, and the failure is logged once with its ids.</summary>
public sealed class RedeliveryTests
{
    [Fact]
    public async Task FailingHandler_MessageIsRedeliveredInItsContext_AndTheFailureLoggedWithItsIds()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await Broker.DeclareQueueAsync(channel);
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/order", async (RequestContextPublisher publisher) =>
                {
                    await publisher.PublishAsync(channel, "", queue, "order"u8.ToArray());
                    return "ok";
                });
            },
            builder => builder.Services.AddRequestContextRabbitMQ(),
            kestrel: true);

        var attempts = new ConcurrentQueue<(bool Redelivered, string? RequestId)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RequestContextConsumer(
            channel,
            app.App.Services.GetRequiredService<IRequestContextPropagator>(),
            (message, _) =>
            {
                attempts.Enqueue((message.Redelivered, RequestContext.RequestId.Get()));
                if (!message.Redelivered)
                {
                    throw new InvalidOperationException("the first attempt fails");
                }

                done.TrySetResult();
                return Task.CompletedTask;
            },
            app.App.Services.GetRequiredService<ILogger<RequestContextConsumer>>());
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

        var request = new HttpRequestMessage(HttpMethod.Post, "/order");
        request.Headers.Add("X-Request-ID", "order-redelivered");
        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([(false, "order-redelivered"), (true, "order-redelivered")], attempts.ToArray());
        var failure = Assert.Single(app.Logs.Records, record => record.EventId.Name == "MessageHandlerFailed");
        Assert.Equal("order-redelivered", failure.RequestId);
        Assert.IsType<InvalidOperationException>(failure.Exception);
    }
}
