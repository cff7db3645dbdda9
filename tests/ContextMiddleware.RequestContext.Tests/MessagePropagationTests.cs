using System.Diagnostics;
using System.Text;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Requests.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.Requests.Tests;

/// <summary>
/// Messages through any carrier, with the rules of HTTP requests: RabbitMQ's headers (byte[] values) and Kafka's
/// (a list in which a key may repeat) read and written in place, never copied.
/// </summary>
public class MessagePropagationTests
{
    private const string ProducerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

    // RabbitMQ.Client's IBasicProperties.Headers: string keys, byte[] values.
    private static readonly Action<IDictionary<string, object?>, string, string> s_rabbitSetter =
        static (headers, name, value) => headers[name] = Encoding.UTF8.GetBytes(value);

    private static readonly Func<IDictionary<string, object?>, string, StringValues> s_rabbitGetter =
        static (headers, name) => headers.TryGetValue(name, out var value) && value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : StringValues.Empty;

    // Confluent.Kafka's Headers: an ordered list of (key, byte[]) in which a key may repeat.
    private static readonly Func<List<KeyValuePair<string, byte[]>>, string, StringValues> s_kafkaGetter =
        static (headers, name) => new([.. headers.Where(header => header.Key == name).Select(header => Encoding.UTF8.GetString(header.Value))]);

    [Fact]
    public void RabbitMqHeaders_RoundTrip_InPlace()
    {
        using var worker = new Worker();
        var headers = new Dictionary<string, object?> { ["x-app"] = 42 };

        var producerSpan = Worker.InRequest("req-producer", activity =>
        {
            worker.Propagator.Inject(headers, s_rabbitSetter);
            return activity.SpanId.ToHexString();
        });
        var context = worker.Propagator.Extract(headers, s_rabbitGetter);

        Assert.IsType<byte[]>(headers["X-Request-ID"]);
        Assert.Equal(42, headers["x-app"]);
        var (requestId, trace) = context.Run(() => (RequestContext.RequestId.Get(), RequestContext.Trace.Get()!));
        Assert.Equal("req-producer", requestId);
        Assert.Equal(producerSpan, trace.ParentSpanId);
        Assert.NotEqual(producerSpan, trace.SpanId);
    }

    [Fact]
    public void KafkaHeaders_RequestIdSentTwice_IsReplaced_AsOverHttp()
    {
        using var worker = new Worker();
        var headers = new List<KeyValuePair<string, byte[]>>
        {
            new("X-Request-ID", "req-one"u8.ToArray()),
            new("X-Request-ID", "req-two"u8.ToArray()),
        };

        var context = worker.Propagator.Extract(headers, s_kafkaGetter);

        var requestId = context.Run(() => RequestContext.RequestId.Get());
        Assert.Matches("^[0-9a-f]{32}$", requestId);
        var warning = Assert.Single(worker.Records, record => record.EventName == "InvalidRequestId");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(requestId, warning.RequestId); // logged inside the message's context
        Assert.Contains("sent more than once", warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("req\r\nInjected: yes")]
    [InlineData("id with spaces")]
    [InlineData("é-non-ascii")]
    public void InvalidRequestId_FromATrustedProducer_IsReplaced_AndLoggedWithoutItsValue(string value)
    {
        using var worker = new Worker();

        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["X-Request-ID"] = value });

        var requestId = context.Run(() => RequestContext.RequestId.Get());
        Assert.NotEqual(value, requestId);
        var warning = Assert.Single(worker.Records, record => record.EventName == "InvalidRequestId");
        Assert.DoesNotContain(value, warning.Message, StringComparison.Ordinal);
        Assert.Equal(requestId, warning.RequestId);
    }

    [Fact]
    public void TrustedNetworks_MessagesHaveNoAddress_SoTheirIdsAndTracesAreNotBelieved()
    {
        using var worker = new Worker(options =>
        {
            options.IncomingRequestIds = RequestContextTrust.TrustedNetworks;
            options.TrustedNetworks = ["10.0.0.0/8"];
        });
        var headers = new Dictionary<string, string>
        {
            ["X-Request-ID"] = "req-from-outside",
            ["traceparent"] = $"00-{ProducerTrace}-00f067aa0ba902b7-01",
        };

        var context = worker.Propagator.Extract(headers);

        var (requestId, clientRequestId, trace) = context.Run(() =>
            (RequestContext.RequestId.Get(), RequestContext.ClientRequestId.Get(), RequestContext.Trace.Get()!));
        Assert.NotEqual("req-from-outside", requestId);
        Assert.Equal("req-from-outside", clientRequestId);
        Assert.NotEqual(ProducerTrace, trace.TraceId);
        Assert.Null(trace.ParentSpanId);
        Assert.Equal(trace.TraceId, requestId); // a new trace: its id is the request id, as over HTTP
        Assert.Single(worker.Records, record => record.EventName == "UntrustedRequestId" && record.RequestId == requestId);
    }

    [Fact]
    public void Generator_IsUsedForMessagesToo_AndAnInvalidOneFallsBackToRandomWithAnError()
    {
        var next = "job-1";
        using var worker = new Worker(options => options.RequestIdGenerator = () => next);

        Assert.Equal("job-1", worker.Propagator.Extract(new Dictionary<string, string>()).Run(() => RequestContext.RequestId.Get()));

        next = "bad id";
        var fallback = worker.Propagator.Extract(new Dictionary<string, string>()).Run(() => RequestContext.RequestId.Get());
        Assert.Matches("^[0-9a-f]{32}$", fallback);
        Assert.Single(worker.Records, record => record.EventName == "InvalidGeneratedRequestId" && record.Level == LogLevel.Error);
    }

    [Fact]
    public async Task RunAsync_StartsAConsumerActivity_AChildOfTheProducersSpan_WhichTheHandlerSees()
    {
        using var worker = new Worker();
        using var listener = new ActivityCollector("ContextMiddleware.AspNetCore"); // as OpenTelemetry's AddSource does
        var headers = new Dictionary<string, object?>();
        var producerSpan = Worker.InRequest("req-consumed", activity =>
        {
            worker.Propagator.Inject(headers, s_rabbitSetter);
            return activity.SpanId.ToHexString();
        });
        var context = worker.Propagator.Extract(headers, s_rabbitGetter);

        (string Kind, string TraceId, string ParentSpanId, string SpanId, TraceContext Trace, string? RequestId)? seen = null;
        await worker.Propagator.RunAsync(context, async () =>
        {
            await Task.Yield();
            var activity = Activity.Current!;
            seen = (activity.Kind.ToString(), activity.TraceId.ToHexString(), activity.ParentSpanId.ToHexString(),
                activity.SpanId.ToHexString(), RequestContext.Trace.Get()!, RequestContext.RequestId.Get());
        }, "process orders");

        Assert.NotNull(seen);
        Assert.Equal("Consumer", seen.Value.Kind);
        Assert.Equal(ProducerTraceOf(headers), seen.Value.TraceId);
        Assert.Equal(producerSpan, seen.Value.ParentSpanId);
        Assert.Equal(seen.Value.SpanId, seen.Value.Trace.SpanId);
        Assert.Equal(producerSpan, seen.Value.Trace.ParentSpanId);
        Assert.Equal("req-consumed", seen.Value.RequestId);
        Assert.Null(Activity.Current);
    }

    [Fact]
    public async Task RunAsync_MessageWithoutATrace_StartsOne_AndItsFreshRequestIdIsThatTracesId()
    {
        using var worker = new Worker();
        var context = worker.Propagator.Extract(new Dictionary<string, string>());

        (string TraceId, string? RequestId, string? ParentSpanId) seen = default;
        await worker.Propagator.RunAsync(context, () =>
        {
            seen = (Activity.Current!.TraceId.ToHexString(), RequestContext.RequestId.Get(), RequestContext.Trace.Get()!.ParentSpanId);
            return Task.CompletedTask;
        });

        Assert.Equal(seen.TraceId, seen.RequestId);
        Assert.Null(seen.ParentSpanId);
    }

    [Fact]
    public async Task RunAsync_HandlerThrows_TheSpanIsAnErrorNamedByTheExceptionType_AndTheExceptionReachesTheCaller()
    {
        using var worker = new Worker();
        using var listener = new ActivityCollector("ContextMiddleware.AspNetCore");
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["traceparent"] = $"00-{traceId}-00f067aa0ba902b7-01" });

        await Assert.ThrowsAsync<InvalidOperationException>(() => worker.Propagator.RunAsync(context, () => throw new InvalidOperationException("secret detail")));

        var span = Assert.Single(listener.Stopped, activity => activity.TraceId.ToHexString() == traceId);
        Assert.Equal(ActivityStatusCode.Error, span.Status);
        Assert.Equal("System.InvalidOperationException", span.StatusDescription);
        Assert.Equal("System.InvalidOperationException", span.GetTagItem("error.type"));
    }

    [Fact]
    public void Inject_OutsideAnyRequest_WritesNothing()
    {
        using var worker = new Worker();
        var headers = new Dictionary<string, object?>();

        worker.Propagator.Inject(headers, s_rabbitSetter);

        Assert.Empty(headers);
    }

    [Fact]
    public void Extract_NullGetterOrSetter_Throws()
    {
        using var worker = new Worker();

        Assert.Throws<ArgumentNullException>("getter", () => worker.Propagator.Extract(new Dictionary<string, object?>(), null!));
        Assert.Throws<ArgumentNullException>("setter", () => worker.Propagator.Inject(new Dictionary<string, object?>(), null!));
    }

    private static string ProducerTraceOf(Dictionary<string, object?> headers) =>
        Encoding.UTF8.GetString((byte[])headers["traceparent"]!).Split('-')[1];
}
