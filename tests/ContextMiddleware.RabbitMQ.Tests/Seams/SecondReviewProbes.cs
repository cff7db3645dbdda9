using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.RabbitMQ.Internal;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace ContextMiddleware.RabbitMQ.Tests.Seams;

/// <summary>
/// Second review probes (hostile maintainer): each fails when the defect, or the false doc sentence, it names exists.
/// They listen to process-wide ActivitySources and close their own connections: run serially with the other tests of
/// that kind (never together with BrokerRestartTests).
/// </summary>
[Collection(nameof(RabbitMQClientTracing))]
public sealed class SecondReviewProbes
{
    private static readonly ContextVar<string?> Tenant = new("SecondProbeTenant", null);


    private sealed record Seen(string Body, bool Redelivered, string? RequestId, string? TraceId, Activity? Activity, IDictionary<string, object?> Headers);

    private static ProbeWorker<Seen> NewWorker(Action<RequestContextOptions>? configure = null, Action<IServiceCollection>? services = null) =>
        ProbeSupport.NewWorker<Seen>(Tenant, configure, services);

    private static Seen Record(BasicDeliverEventArgs message) => new(
        Encoding.UTF8.GetString(message.Body.Span), message.Redelivered, RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId,
        Activity.Current, message.BasicProperties.Headers ?? new Dictionary<string, object?>());

    private static Task<string> DeclareQueueAsync(IChannel channel, string? name = null) =>
        ProbeSupport.DeclareExpiringQueueAsync(channel, name ?? $"probe2-{Guid.NewGuid():N}");

    /// <summary>The queue's ready and unacknowledged counts, as the broker sees them now.</summary>
    private static async Task<(int Ready, int Unacked)> CountsAsync(string queue)
    {
        var output = await Broker.RabbitMqCtlAsync("list_queues", "-q", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged");
        var line = output.Split('\n').Select(l => l.Split('\t', StringSplitOptions.TrimEntries)).Single(f => f[0] == queue);
        return (int.Parse(line[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(line[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until the queue holds nothing, ready or unacknowledged; fails naming what is left.</summary>
    private static async Task AssertSettledAsync(string queue, int seconds, string because)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var counts = await CountsAsync(queue);
        while (counts != (0, 0) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            counts = await CountsAsync(queue);
        }

        Assert.True(counts == (0, 0), $"{because}: the queue still holds {counts.Ready} ready and {counts.Unacked} unacknowledged message(s) on an open channel.");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The ack/nack decision after the review's "generation" fix.

    /// <summary>
    /// RabbitMQ.Client 7 re-registers a recovered channel's consumers (and the broker redelivers at once) BEFORE it
    /// raises the channel's RecoveryAsync event. The consumer counts RecoveryAsync as "the channel changed": a
    /// redelivery whose handler is still running when that event fires is treated as stale, is never acknowledged
    /// (nor nacked), and stays unacknowledged on a healthy, open channel until that channel closes.
    /// </summary>
    [Fact]
    public async Task AfterRecovery_ARedeliveryWhoseHandlerOutlastsTheRecoveryEvent_IsStillAcknowledged()
    {
        var name = $"probe2-{Guid.NewGuid():N}";
        var factory = new ConnectionFactory { HostName = "127.0.0.1", AutomaticRecoveryEnabled = true, NetworkRecoveryInterval = TimeSpan.FromMilliseconds(500), ClientProvidedName = name };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var redeliveryDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
            else
            {
                await Task.Delay(1500, CancellationToken.None); // an ordinary handler: 1.5 s of work
                redeliveryDone.TrySetResult();
            }
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "recover", new Dictionary<string, object?> { ["X-Request-ID"] = "recover-1" });
        await first.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var line = (await Broker.RabbitMqCtlAsync("list_connections", "pid", "client_properties")).Split('\n').Single(l => l.Contains(name, StringComparison.Ordinal));
        await Broker.RabbitMqCtlAsync("close_connection", line.Split('\t')[0].Trim(), "second review probe");
        await recovered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        release.SetResult();
        await redeliveryDone.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(channel.IsOpen);
        await AssertSettledAsync(queue, seconds: 5, because: "the redelivered message was handled on the recovered, open channel");

        // Event 51 at Information, once: for the first delivery, whose channel did drop.
        var missed = Assert.Single(worker.Logs.Records, r => r.EventId.Name == "MessageNotAcknowledged");
        Assert.Equal((51, LogLevel.Information, "recover-1"), (missed.EventId.Id, missed.Level, missed.RequestId));
    }

    /// <summary>
    /// An exception of RunAsync's own (here an ActivityListener that throws when the consumer span stops, after the
    /// handler completed) is not the handler's: <c>logged</c> is false, the exception escapes HandleBasicDeliverAsync, and
    /// the message is neither acknowledged nor nacked: it stays unacknowledged on the open channel.
    /// </summary>
    [Fact]
    public async Task RunAsyncsOwnException_AfterTheHandlerCompleted_TheMessageIsStillSettled()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "ContextMiddleware.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.DisplayName == $"process {queue}")
                {
                    throw new InvalidOperationException("exporter bug");
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            return Task.CompletedTask;
        });
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "listener", new Dictionary<string, object?> { ["X-Request-ID"] = "listener-1" });
        await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);

        await AssertSettledAsync(queue, seconds: 5, because: "the handler completed");
    }

    private sealed class ThrowingOnHandlerFailed : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger();

        public void Dispose()
        {
        }

        private sealed class Logger : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (eventId.Id == 50)
                {
                    throw new IOException("log sink full");
                }
            }
        }
    }

    /// <summary>
    /// A log provider that throws while MessageHandlerFailed is written (a full disk, a broken sink): the record's
    /// exception replaces the handler's before <c>logged</c> is set, escapes, and the failed message is neither nacked
    /// nor rejected: RequeueOnFailure = false does not reject it, it stays unacknowledged on the open channel.
    /// </summary>
    [Fact]
    public async Task ALoggerThatThrowsOnTheFailureRecord_TheFailedMessageIsStillSettled()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker(services: s => s.AddLogging(l => l.AddProvider(new ThrowingOnHandlerFailed())));
        var attempts = 0;
        var consumer = new RequestContextConsumer(channel, worker.Services, (_, _) =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("boom");
        })
        {
            RequeueOnFailure = false,
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        await ProbeSupport.PublishRawAsync(channel, queue, "logfail", new Dictionary<string, object?> { ["X-Request-ID"] = "logfail-1" });
        await Wait.UntilAsync(() => Volatile.Read(ref attempts) >= 1, seconds: 30);

        await AssertSettledAsync(queue, seconds: 5, because: "the handler failed with RequeueOnFailure = false (rejected)");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The consumer's event subscriptions.

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<List<WeakReference>> ConsumeAndCancelAsync(IChannel channel, string queue, IServiceProvider services, int count)
    {
        var references = new List<WeakReference>();
        for (var i = 0; i < count; i++)
        {
            var consumer = new RequestContextConsumer(channel, services, (_, _) => Task.CompletedTask);
            var tag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
            await channel.BasicCancelAsync(tag);
            references.Add(new WeakReference(consumer));
        }

        return references;
    }

    /// <summary>
    /// The constructor subscribes every consumer to the channel's ChannelShutdownAsync and RecoveryAsync and never
    /// unsubscribes: a consumer cancelled with BasicCancelAsync stays reachable from the channel (with its handler and
    /// everything the handler captured) for as long as the channel lives. An app that starts and stops consumers on a
    /// long-lived channel (per tenant, per queue it discovers) leaks one each time.
    /// </summary>
    [Fact]
    public async Task CancelledConsumers_AreNotKeptAliveByTheChannel()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        await using var worker = NewWorker();

        var references = await ConsumeAndCancelAsync(channel, queue, worker.Services, 50);
        await Task.Delay(500); // the cancel-oks are dispatched
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        var alive = references.Count(r => r.IsAlive);
        Assert.True(alive == 0, $"{alive} of 50 cancelled consumers are still reachable while their channel is open.");
        GC.KeepAlive(channel);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Header names: the getter, and the publisher with RabbitMQ.Client's own tracing.

    /// <summary>
    /// Names differing only in case are concatenated one by one with StringValues.Concat, which copies the whole list
    /// each time: quadratic. "traceparent" has 2,048 case variants (37 KB of headers, one content-header frame): one
    /// getter call allocates about 17 MB, for a message of 37 KB. Linear would be well under 1 MB.
    /// </summary>
    [Fact]
    public void Getter_ManyNamesDifferingInCase_CostsLinearly()
    {
        var headers = new Dictionary<string, object?>(StringComparer.Ordinal);
        const string name = "traceparent";
        for (var mask = 0; mask < 1 << name.Length; mask++)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if ((mask & (1 << i)) != 0)
                {
                    chars[i] = char.ToUpperInvariant(chars[i]);
                }
            }

            headers[new string(chars)] = "x"u8.ToArray();
        }

        Assert.Equal(2048, headers.Count);
        _ = MessageHeaders.Getter(headers, "traceparent"); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var values = MessageHeaders.Getter(headers, "traceparent");
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2048, values.Count);
        Assert.True(allocated < 1_000_000, $"one getter call allocated {allocated:N0} bytes for 2,048 headers");
    }

    /// <summary>
    /// The doc: "a header of the context's that the app set itself ... is replaced, never sent beside it". An app that
    /// republishes a received message with its properties keeps that message's <c>tracestate</c>: the context writes a
    /// new <c>traceparent</c> (the current span) but no <c>tracestate</c> when the current Activity has none, so the
    /// message carries the new trace's traceparent with the old trace's tracestate, and the consumer's span inherits it.
    /// </summary>
    [Fact]
    public async Task Publisher_AForeignTracestateTheAppCopied_IsNotSentWithTheContextsTraceparent()
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
        await context.Run(async () =>
        {
            RequestContext.RequestId.Set("republish-1");
            using var activity = new Activity("republish").SetIdFormat(ActivityIdFormat.W3C).Start();
            await publisher.PublishAsync(channel, "", queue, "republish"u8.ToArray(), new BasicProperties
            {
                Headers = new Dictionary<string, object?>
                {
                    ["traceparent"] = "00-55555555555555555555555555555555-5555555555555555-01",
                    ["tracestate"] = "foreign=old-trace",
                },
            });
        });

        await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);
        var seen = Assert.Single(worker.Seen);
        Assert.NotEqual("55555555555555555555555555555555", seen.TraceId); // the traceparent was replaced
        var tracestate = seen.Headers.Where(h => string.Equals(h.Key, "tracestate", StringComparison.OrdinalIgnoreCase)).Select(h => ProbeSupport.Text(h.Value)).ToList();
        Assert.DoesNotContain("foreign=old-trace", tracestate);
        Assert.NotEqual("foreign=old-trace", seen.Activity?.TraceStateString);
    }

    /// <summary>
    /// With RabbitMQ.Client's tracing on and no trace in the publisher (a worker outside any request): the context
    /// writes no traceparent, the client writes "traceparent" through ContextHeaders' indexer, which compares names
    /// with case; the app's "Traceparent" stays beside it. The doc says "one header of each name", names compared
    /// without case: the consumer sees a repeated traceparent, refuses both, and starts a new trace (the client's
    /// publish span is lost as its parent).
    /// </summary>
    [Fact]
    public async Task ClientTracingOn_NoTraceInThePublisher_AppsTraceparentInAnotherCase_OneHeaderOnly()
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

        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            await new Context().Run(() => publisher.PublishAsync(channel, "", queue, "case"u8.ToArray(), new BasicProperties
            {
                Headers = new Dictionary<string, object?> { ["Traceparent"] = "00-66666666666666666666666666666666-6666666666666666-01" },
            }).AsTask());
        }
        finally
        {
            Activity.Current = previous;
        }

        await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);
        var names = Assert.Single(worker.Seen).Headers.Keys.Where(k => string.Equals(k, "traceparent", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(names.Count == 1, $"traceparent headers sent: {string.Join(", ", names)}");
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The routing key in logs and span names.

    /// <summary>
    /// LogText's and the doc's rule: "printable ASCII, anything else as ?, at most 128 characters". A key over 128
    /// characters is shown as 128 characters plus '…' (U+2026): 129 characters, one of them not ASCII.
    /// </summary>
    [Theory]
    [InlineData(129)]
    [InlineData(200)]
    [InlineData(255)]
    public void LogText_ALongKey_IsAtMost128PrintableAsciiCharacters(int length)
    {
        var shown = LogText.Of(new string('k', length));
        Assert.True(shown.Length <= 128, $"{shown.Length} characters");
        Assert.All(shown, c => Assert.InRange(c, (char)0x20, (char)0x7E));
    }

    [Fact]
    public void LogText_HoldsForShortKeysControlCharactersAndSurrogates()
    {
        Assert.Equal(new string('k', 128), LogText.Of(new string('k', 128)));
        Assert.Equal("orders", LogText.Of("orders"));
        Assert.Equal("", LogText.Of(""));
        Assert.Equal("a??b", LogText.Of("a\r\nb"));
        Assert.Equal("??", LogText.Of("😀"));
        Assert.Equal("?x", LogText.Of("\uD83Dx")); // a lone surrogate
        Assert.Equal("?", LogText.Of("\u007F"));
    }

    /// <summary>The same rule end to end: the record's RoutingKey and the span's name, for a 200-character key.</summary>
    [Fact]
    public async Task FailingHandler_ALongRoutingKey_RecordAndSpanName_AtMost128PrintableAscii()
    {
        using var activities = new StoppedActivities();
        var stopped = activities.Stopped;
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        var exchange = $"probe2-topic-{Guid.NewGuid():N}";
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: false, autoDelete: true);
        await channel.QueueBindAsync(queue, exchange, "#");
        await using var worker = NewWorker();
        var consumer = new RequestContextConsumer(channel, worker.Services, (_, _) => throw new InvalidOperationException("boom"))
        {
            RequeueOnFailure = false,
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        var key = "long." + new string('k', 195);
        await channel.BasicPublishAsync(exchange, key, "x"u8.ToArray());

        await Wait.UntilAsync(() => worker.Logs.Records.Any(r => r.EventId.Name == "MessageHandlerFailed"), seconds: 30);
        var shown = (string)worker.Logs.Records.First(r => r.EventId.Name == "MessageHandlerFailed").State.Single(p => p.Key == "RoutingKey").Value!;
        var span = stopped.First(a => a.DisplayName.StartsWith("process long.", StringComparison.Ordinal)).DisplayName["process ".Length..];
        foreach (var text in new[] { shown, span })
        {
            Assert.True(text.Length <= 128 && text.All(c => c is >= (char)0x20 and <= (char)0x7E), $"shown as {text.Length} characters: ...{text[^3..]}");
        }

        await channel.ExchangeDeleteAsync(exchange);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Doc sentences that must hold ("Consuming", "Events").

    private sealed class RecordingPolicy(bool trustUserId) : IRequestContextTrustPolicy
    {
        public ConcurrentQueue<(IncomingValue Value, IPAddress? Address)> Asked { get; } = new();

        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress)
        {
            Asked.Enqueue((value, remoteAddress));
            return value != IncomingValue.UserId || trustUserId;
        }
    }

    /// <summary>
    /// "Consuming": the trust policy asked about a caller with no address; a consumer Activity
    /// ContextMiddleware.AspNetCore.Process of source ContextMiddleware.AspNetCore, kind Consumer, display name
    /// "process {routing key}", a child of the producer's span; a failing handler's Activity marked as an error named by
    /// the exception's type; logged once at Error (event 50) with the ids and the exception; the handler's own body copy.
    /// </summary>
    [Fact]
    public async Task Doc_Consuming_TheSentencesHold()
    {
        using var activities = new StoppedActivities();
        var stopped = activities.Stopped;
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = await DeclareQueueAsync(channel);
        var policy = new RecordingPolicy(trustUserId: true);
        await using var worker = NewWorker(services: s => s.AddSingleton<IRequestContextTrustPolicy>(policy));
        var bodies = new ConcurrentQueue<ReadOnlyMemory<byte>>();
        var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
        {
            worker.Seen.Enqueue(Record(message));
            bodies.Enqueue(message.Body);
            return Encoding.UTF8.GetString(message.Body.Span) == "fail" ? throw new FormatException("bad order") : Task.CompletedTask;
        })
        {
            RequeueOnFailure = false,
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
        const string producerTrace = "0af7651916cd43dd8448eb211c80319c";
        const string producerSpan = "b7ad6b7169203331";
        for (var i = 0; i < 20; i++)
        {
            await ProbeSupport.PublishRawAsync(channel, queue, i == 0 ? "fail" : $"ok-{i:D2}", new Dictionary<string, object?>
            {
                ["X-Request-ID"] = $"doc-{i}",
                ["traceparent"] = $"00-{producerTrace}-{producerSpan}-01",
            });
        }

        await Wait.UntilAsync(() => worker.Seen.Count >= 20 && stopped.Count(a => a.DisplayName == $"process {queue}") >= 20, seconds: 30);

        Assert.NotEmpty(policy.Asked);
        Assert.All(policy.Asked, asked => Assert.Null(asked.Address));
        var spans = stopped.Where(a => a.DisplayName == $"process {queue}").ToList();
        Assert.All(spans, span =>
        {
            Assert.Equal("ContextMiddleware.AspNetCore.Process", span.OperationName);
            Assert.Equal("ContextMiddleware.AspNetCore", span.Source.Name);
            Assert.Equal(ActivityKind.Consumer, span.Kind);
            Assert.Equal(producerTrace, span.TraceId.ToHexString());
            Assert.Equal(producerSpan, span.ParentSpanId.ToHexString());
        });
        var failedSpan = Assert.Single(spans, s => s.Status == ActivityStatusCode.Error);
        Assert.Contains("FormatException", failedSpan.StatusDescription, StringComparison.Ordinal);
        var failed = Assert.Single(worker.Logs.Records, r => r.EventId.Name == "MessageHandlerFailed");
        Assert.Equal((50, LogLevel.Error, "doc-0"), (failed.EventId.Id, failed.Level, failed.RequestId));
        Assert.IsType<FormatException>(failed.Exception);

        // Each handler's body is its own: 20 distinct bodies still intact after every delivery.
        Assert.Equal(20, bodies.Select(b => Encoding.UTF8.GetString(b.Span)).Distinct().Count());
        await AssertSettledAsync(queue, seconds: 5, because: "19 handled, 1 rejected");
    }

    /// <summary>"Events": InvalidMessageUserId 31 Warning, UntrustedMessageUserId 32 Debug, never the value.</summary>
    [Fact]
    public async Task Doc_Events_UserIdRecords_HaveTheDocumentedIdsAndLevels()
    {
        await using var connection = await Broker.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var trusted in new[] { true, false })
        {
            var queue = await DeclareQueueAsync(channel);
            await using var worker = NewWorker(o => o.MessageUserIdHeader = "x-user-id", s => s.AddSingleton<IRequestContextTrustPolicy>(new RecordingPolicy(trusted)));
            var consumer = new RequestContextConsumer(channel, worker.Services, (message, _) =>
            {
                worker.Seen.Enqueue(Record(message));
                return Task.CompletedTask;
            });
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
            await ProbeSupport.PublishRawAsync(channel, queue, "u", new Dictionary<string, object?> { ["x-user-id"] = "SECRETID%0A", ["X-User-Id"] = "SECRETTWO" });
            await Wait.UntilAsync(() => !worker.Seen.IsEmpty, seconds: 30);
            await Task.Delay(200);

            var record = trusted
                ? Assert.Single(worker.Logs.Records, r => r.EventId.Name == "InvalidMessageUserId")
                : Assert.Single(worker.Logs.Records, r => r.EventId.Name == "UntrustedMessageUserId");
            Assert.Equal(trusted ? (31, LogLevel.Warning) : (32, LogLevel.Debug), (record.EventId.Id, record.Level));
            Assert.DoesNotContain(worker.Logs.Records, r => r.AllText.Contains("SECRET", StringComparison.Ordinal));
        }
    }
}
