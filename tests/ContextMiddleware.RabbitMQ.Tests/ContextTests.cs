using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using ContextMiddleware.RabbitMQ.Tests.Seams;

namespace ContextMiddleware.RabbitMQ.Tests;

/// <summary>What a consumer reads for one message: the headers as they arrived and the context its handler ran in.</summary>
public sealed record Consumed(
    IDictionary<string, object?> Headers, string? RequestId, string? TraceId, string? ParentSpanId, string? UserId, bool UserAuthenticated, string? Tenant, string? ActivityParentSpanId);

/// <summary>The whole context through a real broker: trace, baggage, the opt-in user id, RabbitMQ.Client's own tracing.</summary>
[Collection(nameof(RabbitMQClientTracing))]
public sealed class ContextTests
{
    private static readonly ContextVar<string?> Tenant = new("Tenant", null);


    /// <summary>A producer app over Kestrel: POST /publish sets the tenant in code and publishes one message.</summary>
    private static Task<TestApp> StartProducerAsync(IChannel channel, string queue, Action<RequestContextOptions>? configure = null, bool jwt = false) =>
        TestApp.StartAsync(
            app =>
            {
                if (jwt)
                {
                    app.UseAuthentication();
                }

                app.UseRequestContext();
                app.MapPost("/publish", async (RequestContextPublisher publisher, ILogger<ContextTests> logger) =>
                {
                    Tenant.Set("acme");
                    logger.LogInformation("publishing");
                    await publisher.PublishAsync(channel, "", queue, "hello"u8.ToArray());
                    return Activity.Current!.SpanId.ToHexString();
                });
            },
            builder =>
            {
                builder.Services.AddRequestContextRabbitMQ();
                builder.Services.Configure<RequestContextOptions>(options =>
                {
                    options.Baggage.Add(Tenant, "tenant");
                    configure?.Invoke(options);
                });
                if (jwt)
                {
                    Jwt.AddJwtBearer(builder);
                }
            },
            kestrel: true);

    /// <summary>A consumer in a worker of its own (no ASP.NET Core), as another service would be.</summary>
    private static async Task<(ServiceProvider Worker, LogCollector Logs, Task<Consumed> Next)> StartConsumerAsync(
        IChannel channel, string queue, Action<RequestContextOptions>? configure = null)
    {
        var logs = new LogCollector();
        var worker = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
            .AddRequestContextRabbitMQ()
            .Configure<RequestContextOptions>(options =>
            {
                options.Baggage.Add(Tenant, "tenant");
                configure?.Invoke(options);
            })
            .BuildServiceProvider();
        var next = new TaskCompletionSource<Consumed>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RequestContextConsumer(channel, worker, (message, _) =>
        {
            worker.GetRequiredService<ILogger<ContextTests>>().LogInformation("handling");
            var user = RequestContext.User.Get();
            next.TrySetResult(new Consumed(
                message.BasicProperties.Headers!,
                RequestContext.RequestId.Get(),
                RequestContext.Trace.Get()?.TraceId,
                RequestContext.Trace.Get()?.ParentSpanId,
                user.Id,
                user.IsAuthenticated,
                Tenant.Get(),
                Activity.Current?.ParentSpanId.ToHexString()));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        return (worker, logs, next.Task);
    }

    private static async Task<string> PublishAsync(TestApp producer, string requestId, string? token = null, string? baggage = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/publish");
        request.Headers.Add("X-Request-ID", requestId);
        if (baggage is not null)
        {
            request.Headers.Add("baggage", baggage);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await producer.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task TheConsumerRunsInTheProducersContext_ChildOfItsSpan_WithItsBaggage_AndLogsWithItsIds()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await Broker.DeclareQueueAsync(channel);
        await using var producer = await StartProducerAsync(channel, queue);
        var (worker, logs, next) = await StartConsumerAsync(channel, queue);
        using var _ = worker;

        var producerSpan = await PublishAsync(producer, "order-ctx");
        var consumed = await next.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("order-ctx", consumed.RequestId);
        Assert.Equal("acme", consumed.Tenant);
        Assert.Equal(producerSpan, consumed.ParentSpanId);
        Assert.Equal(producerSpan, consumed.ActivityParentSpanId);
        var published = Assert.Single(producer.Logs.Records, r => r.Message == "publishing");
        Assert.Equal(published.TraceId, consumed.TraceId);
        var handled = Assert.Single(logs.Records, r => r.Message == "handling");
        Assert.Equal(("order-ctx", consumed.TraceId), (handled.RequestId, handled.TraceId));

        // The user id travels only when the app opts in.
        Assert.DoesNotContain(consumed.Headers.Keys, key => key.Contains("user", StringComparison.OrdinalIgnoreCase));
        Assert.Null(consumed.UserId);
    }

    [Fact]
    public async Task WithRabbitMQClientTracingOn_OneHeaderOfEach_TheConsumerIsAChildOfThePublishSpan_AndKeepsTheBaggage()
    {
        var publishSpans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("RabbitMQ.Client", StringComparison.Ordinal),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Kind == ActivityKind.Producer)
                {
                    publishSpans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await Broker.DeclareQueueAsync(channel);
        await using var producer = await StartProducerAsync(channel, queue);
        var (worker, _, next) = await StartConsumerAsync(channel, queue);
        using var __ = worker;

        // The caller's baggage is the request Activity's baggage too, which the client's own injection writes.
        var requestSpan = await PublishAsync(producer, "order-otel", baggage: "tenant=caller,region=eu");
        var consumed = await next.WaitAsync(TimeSpan.FromSeconds(30));

        // The client's publish span is the request span's child, and the consumer's parent.
        var publish = Assert.Single(publishSpans, span => span.DisplayName == $"publish {queue}");
        Assert.Equal(requestSpan, publish.ParentSpanId.ToHexString());
        Assert.Equal(publish.SpanId.ToHexString(), consumed.ParentSpanId);
        Assert.Equal(publish.TraceId.ToHexString(), consumed.TraceId);
        Assert.Equal("order-otel", consumed.RequestId);

        // The request context's baggage (the tenant set in code) is kept over the client's Activity baggage.
        Assert.Equal("acme", consumed.Tenant);
        Assert.Equal("tenant=acme,region=eu", ProbeSupport.Text(consumed.Headers["baggage"]));
        Assert.Single(consumed.Headers.Keys, key => key.Equals("traceparent", StringComparison.OrdinalIgnoreCase));
        Assert.Single(consumed.Headers.Keys, key => key.Equals("baggage", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task OptedIn_TheUserIdTravelsAsContext_NotAsCredentials()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await Broker.DeclareQueueAsync(channel);
        await using var producer = await StartProducerAsync(channel, queue, o => o.MessageUserIdHeader = "x-user-id", jwt: true);
        var (worker, logs, next) = await StartConsumerAsync(channel, queue, o => o.MessageUserIdHeader = "x-user-id");
        using var _ = worker;

        await PublishAsync(producer, "order-user", Jwt.CreateToken("alice", "Alice", "admin"));
        var consumed = await next.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("alice", ProbeSupport.Text(consumed.Headers["x-user-id"]));
        Assert.Equal("alice", consumed.UserId);
        Assert.False(consumed.UserAuthenticated);
        Assert.Equal("alice", Assert.Single(logs.Records, r => r.Message == "handling").UserId);
        Assert.DoesNotContain(consumed.Headers.Values, value => ProbeSupport.Text(value).Contains("Bearer", StringComparison.Ordinal) || ProbeSupport.Text(value).StartsWith("ey", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OptedIn_AConsumerThatDoesNotTrustMessagesRunsAnonymous()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await Broker.DeclareQueueAsync(channel);
        await using var producer = await StartProducerAsync(channel, queue, o => o.MessageUserIdHeader = "x-user-id", jwt: true);
        var (worker, logs, next) = await StartConsumerAsync(channel, queue, o =>
        {
            o.MessageUserIdHeader = "x-user-id";
            o.IncomingRequestIds = RequestContextTrust.Ignore;
        });
        using var _ = worker;

        await PublishAsync(producer, "order-untrusted", Jwt.CreateToken("alice", "Alice"));
        var consumed = await next.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(consumed.UserId);
        Assert.NotEqual("order-untrusted", consumed.RequestId);
        Assert.Contains(logs.Records, r => r.EventId.Name == "UntrustedMessageUserId" && !r.AllText.Contains("alice", StringComparison.Ordinal));
    }
}

/// <summary>Tests that listen to RabbitMQ.Client's ActivitySources (process-wide) run one at a time.</summary>
[CollectionDefinition(nameof(RabbitMQClientTracing), DisableParallelization = true)]
public sealed class RabbitMQClientTracing;
