using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Claims;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ContextMiddleware.RabbitMQ.Tests.Seams;

/// <summary>
/// Review probes (hostile maintainer): each fails when the defect it names exists. Run serially with the other tests
/// that listen to process-wide ActivitySources; never together with BrokerRestartTests.
/// </summary>
[Collection(nameof(RabbitMQClientTracing))]
public sealed class ReviewProbes
{
    private static readonly ContextVar<string?> Tenant = new("ProbeTenant", null);


    /// <summary>What one handler run saw.</summary>
    private sealed record Seen(string Body, string? RequestId, string? TraceId, string? UserId, bool Authenticated, bool PrincipalAuthenticated, bool InRole, string? Tenant, Activity? Activity, IDictionary<string, object?> Headers);

    private static ProbeWorker<Seen> NewWorker(Action<RequestContextOptions>? configure = null, Action<IServiceCollection>? services = null) =>
        ProbeSupport.NewWorker<Seen>(Tenant, configure, services);

    private static Seen Record(BasicDeliverEventArgs message)
    {
        var user = RequestContext.User.Get();
        return new Seen(
            Encoding.UTF8.GetString(message.Body.Span), RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId,
            user.Id, user.IsAuthenticated, user.Principal.Identity?.IsAuthenticated ?? false, user.IsInRole("admin") || user.Principal.IsInRole("admin"),
            Tenant.Get(), Activity.Current, message.BasicProperties.Headers ?? new Dictionary<string, object?>());
    }

    private static Task<string> DeclareQueueAsync(IChannel channel, IDictionary<string, object?>? arguments = null) =>
        ProbeSupport.DeclareExpiringQueueAsync(channel, $"probe-{Guid.NewGuid():N}", arguments);

    private static async Task UntilAsync(Func<Task<bool>> condition, int seconds = 10, string what = "the condition")
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Timed out after {seconds} s waiting for {what}.");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<uint> MessageCountAsync(IConnection connection, string queue)
    {
        await using var probe = await connection.CreateChannelAsync();
        var ok = await probe.QueueDeclarePassiveAsync(queue);
        return ok.MessageCount;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 1. Hostile headers.

    [Fact]
    public async Task HostileHeaders_WrongTypesHugeAndControlChars_HandlerRuns_Acked_FreshIds_NothingEchoed()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker(o => o.MessageUserIdHeader = "x-user-id");
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            worker.Services.GetRequiredService<ILogger<ReviewProbes>>().LogInformation("handled {Body}", Encoding.UTF8.GetString(message.Body.Span));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

        var huge = new string('A', 30_000) + "HUGEMARK"; // 4 of them fit one content-header frame (128 KiB)
        var cases = new Dictionary<string, IDictionary<string, object?>>
        {
            ["int"] = new Dictionary<string, object?> { ["X-Request-ID"] = 12345, ["traceparent"] = 7, ["baggage"] = 3L, ["x-user-id"] = 42 },
            ["list"] = new Dictionary<string, object?> { ["X-Request-ID"] = new List<object?> { "LISTMARK-a", "b" }, ["traceparent"] = new List<object?> { "x" }, ["x-user-id"] = new List<object?> { "LISTUSER" } },
            ["table"] = new Dictionary<string, object?> { ["X-Request-ID"] = new Dictionary<string, object?> { ["a"] = "TABLEMARK" }, ["baggage"] = new Dictionary<string, object?> { ["tenant"] = "TABLETENANT" } },
            ["null"] = new Dictionary<string, object?> { ["X-Request-ID"] = null, ["traceparent"] = null, ["baggage"] = null, ["x-user-id"] = null },
            ["huge"] = new Dictionary<string, object?> { ["X-Request-ID"] = huge, ["traceparent"] = huge, ["baggage"] = "tenant=" + huge, ["x-user-id"] = huge },
            ["crlf"] = new Dictionary<string, object?> { ["X-Request-ID"] = "CRLFMARK\r\nInjected: yes", ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nX: y", ["baggage"] = "tenant=CRLFTENANT\r\nx", ["x-user-id"] = "CRLFUSER%0D%0Aforged" },
            ["nonascii"] = new Dictionary<string, object?> { ["X-Request-ID"] = "ÜNICODEMARK-é", ["traceparent"] = "00-ÿaf7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ["baggage"] = "tenant=ÄTENANT", ["x-user-id"] = "ÜSER" },
            ["binary"] = new Dictionary<string, object?> { ["X-Request-ID"] = new byte[] { 0xff, 0xfe, 0x00, 0x41 }, ["x-user-id"] = new byte[] { 0xc3, 0x28 } },
            ["malformed"] = new Dictionary<string, object?> { ["traceparent"] = "00-00000000000000000000000000000000-0000000000000000-01", ["tracestate"] = new string(',', 5000), ["baggage"] = "=;=;%%%,tenant", ["x-user-id"] = "%E2%82" },
            ["bool"] = new Dictionary<string, object?> { ["X-Request-ID"] = true, ["x-user-id"] = false, ["baggage"] = 1.5m },
        };
        foreach (var (name, headers) in cases)
        {
            await ProbeSupport.PublishRawAsync(channel, queue, name, headers);
        }

        try
        {
            await Wait.UntilAsync(() => worker.Seen.Count >= cases.Count, seconds: 30, what: "every hostile message handled");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"Not handled: {string.Join(", ", cases.Keys.Except(worker.Seen.Select(s => s.Body)))}; logs: {string.Join(" || ", worker.Logs.Records.Select(r => r.EventId.Name + ":" + r.Exception?.GetType().Name))}");
        }

        await UntilAsync(async () => await MessageCountAsync(connection, queue) == 0, seconds: 10);

        var markers = new[] { "LISTMARK", "LISTUSER", "TABLEMARK", "TABLETENANT", "HUGEMARK", "CRLFMARK", "CRLFTENANT", "CRLFUSER", "ÜNICODEMARK", "ÄTENANT", "ÜSER", "Injected" };
        foreach (var seen in worker.Seen)
        {
            Assert.False(string.IsNullOrEmpty(seen.RequestId), seen.Body);
            Assert.DoesNotContain(markers, m => (seen.RequestId ?? "").Contains(m, StringComparison.Ordinal));
            Assert.DoesNotContain(markers, m => (seen.Tenant ?? "").Contains(m, StringComparison.Ordinal));
            Assert.Null(seen.UserId);
            Assert.False(seen.Authenticated);
            Assert.NotNull(seen.TraceId);
        }

        // Nothing hostile reaches a log record (the body itself is logged by the handler: skip "handled").
        var leaked = worker.Logs.Records.Where(r => !r.Message.StartsWith("handled", StringComparison.Ordinal))
            .Where(r => markers.Any(m => r.AllText.Contains(m, StringComparison.Ordinal)) || r.AllText.Contains('\r') || r.AllText.Length > 20_000)
            .Select(r => $"{r.EventId.Name}: {r.AllText[..Math.Min(200, r.AllText.Length)]}").ToList();
        Assert.Empty(leaked);
    }

    /// <summary>
    /// RabbitMQ delivers header names as sent; HTTP's rules (which the doc says a message follows) treat names without
    /// regard to case. A producer writing "x-request-id" (or Go's canonical "X-Request-Id") loses its id.
    /// </summary>
    [Fact]
    public async Task RequestIdHeader_InAnotherCase_IsReadAsOverHttp()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

        await ProbeSupport.PublishRawAsync(channel, queue, "lower", new Dictionary<string, object?> { ["x-request-id"] = "lower-case-id" });
        await ProbeSupport.PublishRawAsync(channel, queue, "go", new Dictionary<string, object?> { ["X-Request-Id"] = "go-canonical-id" });
        await Wait.UntilAsync(() => worker.Seen.Count >= 2, seconds: 30);

        Assert.Equal("lower-case-id", worker.Seen.Single(s => s.Body == "lower").RequestId);
        Assert.Equal("go-canonical-id", worker.Seen.Single(s => s.Body == "go").RequestId);
    }

    /// <summary>
    /// Both "Traceparent" and "traceparent" arrive: no crash. After the review, names are matched without case as over
    /// HTTP, so the two are one repeated header, which the traceparent and request-id rules refuse (a new trace, a fresh
    /// id), and repeated baggage lines are one list (the first member of a key wins).
    /// </summary>
    [Fact]
    public async Task DuplicatedCaseTraceHeaders_NoCrash_AreOneRepeatedHeader_AsOverHttp()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

        await ProbeSupport.PublishRawAsync(channel, queue, "dup", new Dictionary<string, object?>
        {
            ["Traceparent"] = "00-11111111111111111111111111111111-1111111111111111-01",
            ["traceparent"] = "00-22222222222222222222222222222222-2222222222222222-01",
            ["X-Request-ID"] = "upper",
            ["x-request-id"] = "lower",
            ["BAGGAGE"] = "tenant=upper",
            ["baggage"] = "tenant=lower",
        });
        await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);
        var seen = Assert.Single(worker.Seen);
        Assert.NotEqual("11111111111111111111111111111111", seen.TraceId);
        Assert.NotEqual("22222222222222222222222222222222", seen.TraceId);
        Assert.NotEqual("upper", seen.RequestId);
        Assert.NotEqual("lower", seen.RequestId);
        Assert.False(string.IsNullOrEmpty(seen.RequestId));
        Assert.Equal("upper", seen.Tenant);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Publisher: the app's properties, headers in another case, client tracing.

    [Fact]
    public async Task Publisher_NeverMutatesTheAppsPropertiesOrHeaders_EvenWithConfirmationTrackingAndClientTracing()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("RabbitMQ.Client", StringComparison.Ordinal),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var publisher = worker.Services.GetRequiredService<RequestContextPublisher>();

        var appHeaders = new Dictionary<string, object?> { ["app"] = "1", ["X-Request-ID"] = "app-set", ["baggage"] = "app=1" };
        var properties = new BasicProperties { Headers = appHeaders, MessageId = "m1" };
        using var activity = new Activity("probe").SetIdFormat(ActivityIdFormat.W3C).Start();
        await publisher.PublishAsync(channel, "", queue, "x"u8.ToArray(), properties);

        Assert.Same(appHeaders, properties.Headers);
        Assert.Equal(["app", "X-Request-ID", "baggage"], appHeaders.Keys);
        Assert.Equal("app-set", appHeaders["X-Request-ID"]);
        Assert.Equal("app=1", appHeaders["baggage"]);
        Assert.Equal("m1", properties.MessageId);
    }

    /// <summary>
    /// The doc: "a header of the context's that the app set itself is replaced", "one header of each name". An app (or a
    /// library) that writes "x-request-id" or "Traceparent" gets the context's header as a second, differently cased one.
    /// </summary>
    [Fact]
    public async Task Publisher_AppHeaderInAnotherCase_IsReplaced_NotDuplicated()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        var publisher = worker.Services.GetRequiredService<RequestContextPublisher>();

        var context = new Context();
        context.Run(() => RequestContext.RequestId.Set("ctx-id"));
        using var activity = new Activity("probe").SetIdFormat(ActivityIdFormat.W3C).Start();
        await context.Run(() => publisher.PublishAsync(channel, "", queue, "case"u8.ToArray(), new BasicProperties
        {
            Headers = new Dictionary<string, object?>
            {
                ["x-request-id"] = "app-lower",
                ["Traceparent"] = "00-33333333333333333333333333333333-3333333333333333-01",
            },
        }).AsTask());

        await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);
        var keys = Assert.Single(worker.Seen).Headers.Keys.ToList();
        var duplicated = keys.GroupBy(k => k, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => string.Join("/", g)).ToList();
        Assert.Empty(duplicated);
    }

    /// <summary>
    /// With RabbitMQ.Client's tracing on, a member the app put in Activity.Baggage during the request travels only when
    /// no registered variable happens to be set: whether it is sent depends on unrelated state.
    /// </summary>
    [Fact]
    public async Task ClientTracingOn_ActivityBaggageSetInCode_TravelsWhetherOrNotARegisteredVariableIsSet()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("RabbitMQ.Client", StringComparison.Ordinal),
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        var publisher = worker.Services.GetRequiredService<RequestContextPublisher>();

        foreach (var withTenant in new[] { false, true })
        {
            var context = new Context();
            await context.Run(async () =>
            {
                RequestContext.RequestId.Set($"bag-{withTenant}");
                using var activity = new Activity("request").SetIdFormat(ActivityIdFormat.W3C).Start();
                activity.AddBaggage("region", "eu");
                if (withTenant)
                {
                    Tenant.Set("acme");
                }

                await publisher.PublishAsync(channel, "", queue, Encoding.UTF8.GetBytes($"tenant:{withTenant}"));
            });
        }

        await Wait.UntilAsync(() => worker.Seen.Count >= 2, seconds: 30);
        var baggage = worker.Seen.ToDictionary(s => s.Body, s => ProbeSupport.Text(s.Headers.TryGetValue("baggage", out var b) ? b : null));
        Assert.Contains("region=eu", baggage["tenant:False"], StringComparison.Ordinal);
        Assert.Contains("region=eu", baggage["tenant:True"], StringComparison.Ordinal); // fails: only "tenant=acme"
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Consumer: failure, requeue, cancellation, channel closure, concurrency.

    [Fact]
    public async Task FailingHandler_TheConsumerActivityIsMarkedAsAnError_AsTheDocSays()
    {
        using var activities = new StoppedActivities();
        var stopped = activities.Stopped;
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) => throw new InvalidOperationException("boom"))
        {
            RequeueOnFailure = false,
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "fail", new Dictionary<string, object?> { ["X-Request-ID"] = "fail-1" });

        await Wait.UntilAsync(() => stopped.Any(a => a.DisplayName == $"process {queue}"), seconds: 30);
        var span = stopped.First(a => a.DisplayName == $"process {queue}");
        Assert.Equal(ActivityKind.Consumer, span.Kind);
        Assert.Equal(ActivityStatusCode.Error, span.Status); // the doc: "the consumer Activity is marked as an error"

        // Logged once, with the ids.
        var failed = Assert.Single(worker.Logs.Records, r => r.EventId.Name == "MessageHandlerFailed");
        Assert.Equal("fail-1", failed.RequestId);
        Assert.NotNull(failed.Exception);
        Assert.Single(worker.Logs.Records, r => r.Exception is not null);
    }

    /// <summary>
    /// The routing key is the publisher's choice (any shortstr on a topic exchange bound with "#"): MessageHandlerFailed
    /// and the span name must not carry a CR/LF it sent.
    /// </summary>
    [Fact]
    public async Task FailingHandler_AHostileRoutingKey_IsNotEchoedRawIntoTheLogLine()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        var exchange = $"probe-topic-{Guid.NewGuid():N}";
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: false, autoDelete: true);
        await channel.QueueBindAsync(queue, exchange, "#");
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (_, _) => throw new InvalidOperationException("boom"))
        {
            RequeueOnFailure = false,
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await channel.BasicPublishAsync(exchange, "orders\r\n2031-01-01 00:00:00 [Information] FORGED line", "x"u8.ToArray());

        await Wait.UntilAsync(() => worker.Logs.Records.Any(r => r.EventId.Name == "MessageHandlerFailed"), seconds: 30);
        var failed = worker.Logs.Records.First(r => r.EventId.Name == "MessageHandlerFailed");
        Assert.DoesNotContain('\n', failed.Message);
        Assert.DoesNotContain('\r', failed.Message);
    }

    [Fact]
    public async Task RequeueOnFailureFalse_TheMessageGoesToTheDeadLetterExchange_NotBackToTheQueue()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var dead = await DeclareQueueAsync(channel);
        var queue = await DeclareQueueAsync(channel, new Dictionary<string, object?> { ["x-dead-letter-exchange"] = "", ["x-dead-letter-routing-key"] = dead });
        await using var worker = NewWorker();
        var attempts = 0;
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("boom");
        })
        {
            RequeueOnFailure = false,
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "dlx", new Dictionary<string, object?> { ["X-Request-ID"] = "dlx-1" });

        await UntilAsync(async () => await MessageCountAsync(connection, dead) == 1, seconds: 30, what: "the message dead-lettered");
        await Task.Delay(500);
        Assert.Equal(1, attempts);
        Assert.Equal(0u, await MessageCountAsync(connection, queue));
        var got = await channel.BasicGetAsync(dead, autoAck: true);
        Assert.Equal("dlx-1", ProbeSupport.Text(got!.BasicProperties.Headers!["X-Request-ID"]));
    }

    /// <summary>The consumer is cancelled (basic.cancel) while its handler runs: the message is still acknowledged.</summary>
    [Fact]
    public async Task ConsumerCancelledMidHandler_TheMessageIsStillAcked()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new RequestContextConsumer(channel, worker.Services, async (message, _) =>
        {
            entered.TrySetResult();
            await release.Task;
            worker.Seen.Enqueue(Record(message));
        });
        var tag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "cancel", new Dictionary<string, object?> { ["X-Request-ID"] = "cancel-1" });
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var cancel = channel.BasicCancelAsync(tag);
        await Task.Delay(300);
        release.SetResult();
        await cancel.WaitAsync(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 10);
        await Task.Delay(500);

        await channel.CloseAsync();
        Assert.Equal(0u, await MessageCountAsync(connection, queue)); // acked: not back in the queue
        Assert.Equal("cancel-1", Assert.Single(worker.Seen).RequestId);
    }

    /// <summary>
    /// The channel is closed by the broker (a channel error on the same channel) while the handler runs; the handler
    /// completes: the doc says the missed acknowledgement is logged at Information (MessageNotAcknowledged), and the
    /// message comes back, in its context.
    /// </summary>
    [Fact]
    public async Task ChannelClosedByTheBrokerMidHandler_AckMissIsLogged_MessageRedeliveredInItsContext()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var setup = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(setup);
        var channel = await connection.CreateChannelAsync();
        await using var worker = NewWorker();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callbackExceptions = new ConcurrentQueue<Exception>();
        channel.CallbackExceptionAsync += (_, e) =>
        {
            callbackExceptions.Enqueue(e.Exception);
            return Task.CompletedTask;
        };
        var consumer = new RequestContextConsumer(channel, worker.Services, async (message, _) =>
        {
            entered.TrySetResult();
            await release.Task;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(setup, queue, "closed", new Dictionary<string, object?> { ["X-Request-ID"] = "closed-1" });
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // A channel error: the broker closes this channel (404) while the handler is still running.
        await Assert.ThrowsAnyAsync<Exception>(() => channel.QueueDeclarePassiveAsync($"missing-{Guid.NewGuid():N}"));
        await Wait.UntilAsync(() => channel.IsClosed, seconds: 10);
        release.SetResult();
        await Wait.UntilAsync(() => worker.Logs.Records.Any(r => r.EventId.Name == "MessageNotAcknowledged") || !callbackExceptions.IsEmpty, seconds: 10);

        Assert.Empty(callbackExceptions.Select(e => e.ToString()));
        var missed = Assert.Single(worker.Logs.Records, r => r.EventId.Name == "MessageNotAcknowledged");
        Assert.Equal("closed-1", missed.RequestId);

        // The message is back, with its id.
        await using var again = await connection.CreateChannelAsync();
        await UntilAsync(async () => await MessageCountAsync(connection, queue) == 1, seconds: 10);
        var redelivered = await again.BasicGetAsync(queue, autoAck: true);
        Assert.Equal("closed-1", ProbeSupport.Text(redelivered!.BasicProperties.Headers!["X-Request-ID"]));
        channel.Dispose();
    }

    /// <summary>
    /// The handler observes its cancellation token (the channel is closed by the app while it runs): the message is not
    /// acknowledged, it comes back, and nothing escapes to RabbitMQ.Client's CallbackException (which, in a real app,
    /// is an unhandled-exception report).
    /// </summary>
    [Fact]
    public async Task HandlerCancelledByChannelClose_NotAcked_Redelivered_NoCallbackException()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var setup = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(setup);
        var channel = await connection.CreateChannelAsync();
        await using var worker = NewWorker();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callbackExceptions = new ConcurrentQueue<Exception>();
        channel.CallbackExceptionAsync += (_, e) =>
        {
            callbackExceptions.Enqueue(e.Exception);
            return Task.CompletedTask;
        };
        var consumer = new RequestContextConsumer(channel, worker.Services, async (message, token) =>
        {
            entered.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            finally
            {
                cancelled.TrySetResult();
            }
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(setup, queue, "token", new Dictionary<string, object?> { ["X-Request-ID"] = "token-1" });
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));

        await channel.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(500);

        await UntilAsync(async () => await MessageCountAsync(connection, queue) == 1, seconds: 10, what: "the message back in the queue");
        Assert.Empty(callbackExceptions.Select(e => e.ToString()));
        Assert.DoesNotContain(worker.Logs.Records, r => r.EventId.Name == "MessageHandlerFailed");
        channel.Dispose();
    }

    /// <summary>
    /// The broker drops this one connection while a handler runs; the client recovers before the handler completes.
    /// The doc: "When the connection drops while a handler runs, the acknowledgement cannot be sent: that is logged at
    /// Information (MessageNotAcknowledged)". RabbitMQ.Client's recovered channel silently drops the stale ack.
    /// (Closes only its own connection, with rabbitmqctl close_connection.)
    /// </summary>
    [Fact]
    public async Task ConnectionDroppedAndRecoveredMidHandler_TheMissedAckIsLogged_AndTheMessageComesBackInItsContext()
    {
        var name = $"probe-{Guid.NewGuid():N}";
        var factory = new ConnectionFactory { HostName = "127.0.0.1", AutomaticRecoveryEnabled = true, NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500), ClientProvidedName = name };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recovered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.RecoverySucceededAsync += (_, _) =>
        {
            recovered.TrySetResult();
            return Task.CompletedTask;
        };
        var consumer = new RequestContextConsumer(channel, worker.Services, async (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            if (!message.Redelivered)
            {
                first.TrySetResult();
                await release.Task;
            }
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "drop", new Dictionary<string, object?> { ["X-Request-ID"] = "drop-1" });
        await first.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var line = (await Broker.RabbitMqCtlAsync("list_connections", "pid", "client_properties")).Split('\n').Single(l => l.Contains(name, StringComparison.Ordinal));
        var pid = line.Split('\t')[0].Trim();
        await Broker.RabbitMqCtlAsync("close_connection", pid, "review probe");
        await recovered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        release.SetResult();

        await Wait.UntilAsync(() => worker.Seen.Count >= 2, seconds: 30, what: "the redelivery");
        Assert.All(worker.Seen, s => Assert.Equal("drop-1", s.RequestId));
        // The recovered channel's dispatcher may deliver the redelivery while the first handler is still finishing:
        // the record is written when that handler completes.
        await Wait.UntilAsync(() => worker.Logs.Records.Any(r => r.EventId.Name == "MessageNotAcknowledged"), seconds: 10, what: "MessageNotAcknowledged");
        Assert.Equal("drop-1", worker.Logs.Records.First(r => r.EventId.Name == "MessageNotAcknowledged").RequestId); // the doc's claim
    }

    [Fact]
    public async Task ConcurrentDispatch_MessagesNeverSeeEachOthersValues()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var publish = await connection.CreateChannelAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, consumerDispatchConcurrency: 8));
        var queue = await DeclareQueueAsync(publish);
        await using var worker = NewWorker(o => o.MessageUserIdHeader = "x-user-id");
        var mismatches = new ConcurrentQueue<string>();
        var done = 0;
        var consumer = new RequestContextConsumer(channel, worker.Services, async (message, _) =>
        {
            var n = Encoding.UTF8.GetString(message.Body.Span);
            for (var i = 0; i < 5; i++)
            {
                var user = RequestContext.User.Get();
                if (RequestContext.RequestId.Get() != $"c-{n}" || Tenant.Get() != $"t-{n}" || user.Id != $"u-{n}" || RequestContext.Trace.Get()?.TraceId != Activity.Current?.TraceId.ToHexString())
                {
                    mismatches.Enqueue($"{n}: {RequestContext.RequestId.Get()} {Tenant.Get()} {user.Id}");
                }

                Tenant.Set($"t-{n}"); // re-set: must not leak to others
                await Task.Delay(Random.Shared.Next(1, 5), CancellationToken.None);
            }

            Interlocked.Increment(ref done);
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        for (var n = 0; n < 200; n++)
        {
            await ProbeSupport.PublishRawAsync(publish, queue, $"{n}", new Dictionary<string, object?>
            {
                ["X-Request-ID"] = $"c-{n}",
                ["baggage"] = $"tenant=t-{n}",
                ["x-user-id"] = $"u-{n}",
                ["traceparent"] = $"00-{n:x32}-{n + 1:x16}-01",
            });
        }

        await Wait.UntilAsync(() => Volatile.Read(ref done) >= 200, seconds: 60);
        Assert.Empty(mismatches);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 2. The user id.

    [Fact]
    public async Task MessageUserId_NeverAuthenticated_NoRole_PrincipalPerMessage_InvalidNeverLogged()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker(o => o.MessageUserIdHeader = "x-user-id");
        var principals = new ConcurrentQueue<(string Body, ClaimsPrincipal Principal, int Claims)>();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            var principal = RequestContext.User.Get().Principal;
            principals.Enqueue((Encoding.UTF8.GetString(message.Body.Span), principal, principal.Claims.Count()));

            // A handler that adds a role to "its" principal: no other message may see it.
            (principal.Identity as ClaimsIdentity)?.AddClaim(new Claim(ClaimTypes.Role, "admin"));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);

        await ProbeSupport.PublishRawAsync(channel, queue, "admin1", new Dictionary<string, object?> { ["x-user-id"] = "admin", ["X-Request-ID"] = "u-1" });
        await ProbeSupport.PublishRawAsync(channel, queue, "admin2", new Dictionary<string, object?> { ["x-user-id"] = "admin", ["X-Request-ID"] = "u-2" });
        await ProbeSupport.PublishRawAsync(channel, queue, "anon1", new Dictionary<string, object?> { ["X-Request-ID"] = "u-3" });
        await ProbeSupport.PublishRawAsync(channel, queue, "anon2", new Dictionary<string, object?> { ["X-Request-ID"] = "u-4" });
        await ProbeSupport.PublishRawAsync(channel, queue, "invalid", new Dictionary<string, object?> { ["x-user-id"] = "SECRETVALUE%0D%0Ainjected", ["X-Request-ID"] = "u-5" });
        await ProbeSupport.PublishRawAsync(channel, queue, "raw", new Dictionary<string, object?> { ["x-user-id"] = "SECRETRAW\nline", ["X-Request-ID"] = "u-6" });
        await Wait.UntilAsync(() => worker.Seen.Count >= 6, seconds: 30);

        foreach (var seen in worker.Seen)
        {
            Assert.False(seen.Authenticated, seen.Body);
            Assert.False(seen.PrincipalAuthenticated, seen.Body);
            Assert.False(seen.InRole, seen.Body);
        }

        Assert.Equal("admin", worker.Seen.Single(s => s.Body == "admin2").UserId);
        Assert.All(principals.Where(p => p.Body is "admin1" or "admin2"), p => Assert.Equal(1, p.Claims));
        Assert.All(principals.Where(p => p.Body.StartsWith("anon", StringComparison.Ordinal)), p => Assert.Equal(0, p.Claims));
        Assert.Null(worker.Seen.Single(s => s.Body == "invalid").UserId);
        Assert.Null(worker.Seen.Single(s => s.Body == "raw").UserId);
        Assert.Equal(2, worker.Logs.Records.Count(r => r.EventId.Name == "InvalidMessageUserId"));
        Assert.DoesNotContain(worker.Logs.Records, r => r.AllText.Contains("SECRET", StringComparison.Ordinal));
    }

    private sealed class FixedUser(string id) : ICurrentUser
    {
        public bool IsAuthenticated => true;

        public string? Id => id;

        public string? Name => id;

        public ClaimsPrincipal Principal => new(new ClaimsIdentity([new Claim("sub", id)], "test"));

        public bool IsInRole(string role) => false;

        public string? FindFirstValue(string claimType) => claimType == "sub" ? id : null;
    }

    /// <summary>"A producer does not send an id a consumer would refuse": every id the producer sends arrives unchanged.</summary>
    [Fact]
    public async Task MessageUserId_RoundTrips_EveryIdTheProducerSends()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker(o => o.MessageUserIdHeader = "x-user-id");
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        var publisher = worker.Services.GetRequiredService<RequestContextPublisher>();

        string[] ids = ["a+b", "a b", "a%20b", "%", "ä,;\\\"=", "user@example.com", "😀", new string('x', 256), new string('é', 256), "tab\u00A0nbsp", "\u2028sep"];
        for (var i = 0; i < ids.Length; i++)
        {
            var context = new Context();
            var index = i;
            await context.Run(async () =>
            {
                RequestContext.User.Set(new FixedUser(ids[index]));
                await publisher.PublishAsync(channel, "", queue, Encoding.UTF8.GetBytes($"{index}"));
            });
        }

        await Wait.UntilAsync(() => worker.Seen.Count >= ids.Length, seconds: 30);
        var wrong = worker.Seen.Where(s => s.UserId != ids[int.Parse(s.Body, System.Globalization.CultureInfo.InvariantCulture)])
            .Select(s => $"{ids[int.Parse(s.Body, System.Globalization.CultureInfo.InvariantCulture)]} -> {s.UserId ?? "(none)"}").ToList();
        Assert.Empty(wrong);
        Assert.DoesNotContain(worker.Logs.Records, r => r.EventId.Name == "InvalidMessageUserId");
    }

    private sealed class TrustAllButUserId : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) => value != IncomingValue.UserId;
    }

    private sealed class ThrowsOnUserId : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            value == IncomingValue.UserId ? throw new InvalidOperationException("POLICYBOOM") : true;
    }

    [Fact]
    public async Task MessageUserId_TheTrustPolicyDecides_AndAThrowingPolicyFailsClosed_LoggedOnce()
    {
        foreach (var policy in new IRequestContextTrustPolicy[] { new TrustAllButUserId(), new ThrowsOnUserId() })
        {
            await using var connection = await Broker.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            var queue = await DeclareQueueAsync(channel);
            await using var worker = NewWorker(o => o.MessageUserIdHeader = "x-user-id", s => s.AddSingleton(policy));
            var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
            {
                worker.Seen.Enqueue(Record(message));
                return Task.CompletedTask;
            });
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
            await ProbeSupport.PublishRawAsync(channel, queue, "p", new Dictionary<string, object?> { ["x-user-id"] = "mallory", ["X-Request-ID"] = "policy-1" });
            await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);

            var seen = Assert.Single(worker.Seen);
            Assert.Null(seen.UserId);
            Assert.Equal("policy-1", seen.RequestId); // the request id is still believed
            if (policy is ThrowsOnUserId)
            {
                Assert.Single(worker.Logs.Records, r => r.Exception?.Message == "POLICYBOOM");
            }
        }
    }

    /// <summary>An HTTP request that sends the user-id header is never that user; an outgoing HttpClient call never carries it.</summary>
    [Fact]
    public async Task Http_NeverReadsNorSendsTheMessageUserIdHeader()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/who", async (IHttpClientFactory factory) =>
                {
                    var user = RequestContext.User.Get();
                    await factory.CreateClient("out").GetAsync(new Uri(recorder.BaseAddress, "/out"));
                    return $"{user.Id}|{user.IsAuthenticated}";
                });
            },
            builder =>
            {
                builder.Services.Configure<RequestContextOptions>(o =>
                {
                    o.MessageUserIdHeader = "x-user-id";
                    o.PropagationAllowedHosts.Add("127.0.0.1");
                });
                builder.Services.AddHttpClient("out").AddRequestContextPropagation();
            });
        var request = new HttpRequestMessage(HttpMethod.Get, "/who");
        request.Headers.Add("x-user-id", "admin");
        request.Headers.Add("X-Request-ID", "http-1");
        var response = await app.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("|False", await response.Content.ReadAsStringAsync());
        Assert.Equal(["http-1"], recorder.Values("/out", "X-Request-ID")); // propagation is on for this host
        Assert.Empty(recorder.Values("/out", "x-user-id"));
    }
}
