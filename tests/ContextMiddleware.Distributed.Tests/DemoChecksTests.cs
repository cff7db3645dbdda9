using System.Diagnostics;
using System.Text.Json;
using ContextMiddleware.Distributed.Api;
using ContextMiddleware.Distributed.Demo;
using Serilog.Events;
using Serilog.Formatting.Compact;
using Serilog.Parsing;

namespace ContextMiddleware.Distributed.Tests;

/// <summary>
/// The demo's checks on lines made up here: they pass on the lines of a good run, and each kind of lost context fails
/// them, saying where. And the demo's reader of compact JSON gives back what Serilog's formatter wrote.
/// </summary>
public sealed class DemoChecksTests
{
    private const string Trace = "4caaae854f4d27a066c5b2810318b498";
    private const string ApiSpan = "9ad4329163523e57";
    private const string WorkerSpan = "4cf2195a97ba2ab5";
    private const string JobSpan = "ee67b68c5ce7f945";
    private static readonly DemoRun Run = new("0123abcd");
    private static readonly DemoResponse Answer = new(202, Run.RequestId, "{}", new OrderAccepted(1001, Run.RequestId, Trace, "1"));

    [Fact]
    public void AGoodRun_Passes_WithAnOkLinePerProcess()
    {
        var passed = new List<string>();

        var problems = DemoChecks.Check(Run, Answer, GoodRun(), passed);

        Assert.Empty(problems);
        Assert.Equal(3, passed.Count);
        Assert.StartsWith("[worker] 2 lines of the request (received, reserved), each with RequestId demo-0123abcd", passed[1], StringComparison.Ordinal);
    }

    [Fact]
    public void AWorkerLineOfTheOrderWithoutTheRequestsIds_Fails()
    {
        var lines = GoodRun().Select(line => line.Role == Roles.Worker && line.Is(LogTemplates.Reserved)
            ? Line(Roles.Worker, LogTemplates.Reserved, "-", "-", trace: null, span: null, ("OrderId", 1001))
            : line).ToList();

        var problems = DemoChecks.Check(Run, Answer, lines, []);

        var problem = Assert.Single(problems);
        Assert.StartsWith("[worker] a line of the request carries RequestId -, TraceId -, event trace id (none): Reserved stock for order 1001", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void AJobLineWithAnotherTrace_Fails()
    {
        const string Other = "00000000000000000000000000000001";
        var lines = GoodRun().Select(line => line.Role == Roles.Jobs && line.Is(LogTemplates.Sent)
            ? Line(Roles.Jobs, LogTemplates.Sent, Run.RequestId, Other, Other, JobSpan, ("OrderId", 1001))
            : line).ToList();

        var problems = DemoChecks.Check(Run, Answer, lines, []);

        Assert.Contains(problems, problem => problem.StartsWith($"[jobs] a line of the request carries RequestId {Run.RequestId}, TraceId {Other}", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingJobLines_AWorkerUnderTheApisSpan_AndAnError_EachFail()
    {
        var lines = GoodRun().Where(line => line.Role != Roles.Jobs)
            .Select(line => line.Role == Roles.Worker && line.Event is not null && line.Property("RequestId") == Run.RequestId
                ? Line(Roles.Worker, line.Event.MessageTemplate.Text, Run.RequestId, Trace, Trace, ApiSpan, ("OrderId", 1001), ("Queue", Run.Queue))
                : line)
            .ToList();
        lines.Add(ChildLine.Read(Roles.Api, 99, """{"@t":"2026-12-01T23:18:36.0000000Z","@mt":"Something broke","@l":"Error","RequestId":"-","TraceId":"-"}"""));
        lines.Add(ChildLine.Read(Roles.Worker, 99, "not a log event"));

        var problems = DemoChecks.Check(Run, Answer, lines, []);

        Assert.Contains("[jobs] 0 'sending' lines instead of 1", problems);
        Assert.Contains("[jobs] 0 'sent' lines instead of 1", problems);
        Assert.Contains($"[worker] its lines have the API's span id {ApiSpan}, not one of their own", problems);
        Assert.Contains("[api] logged an error: Something broke", problems);
        Assert.Contains("[worker] wrote 1 lines that are not compact JSON log events", problems);
    }

    [Fact]
    public void AnAnswerWithoutTheRequestId_Fails()
    {
        var answer = new DemoResponse(500, null, "oops", null);

        var problems = DemoChecks.Check(Run, answer, GoodRun(), []);

        Assert.Contains("[api] answered 500, X-Request-ID: (none), oops", problems);
    }

    [Fact]
    public void TheReader_GivesBackWhatCompactJsonFormatterWrote()
    {
        var trace = ActivityTraceId.CreateFromString(Trace);
        var span = ActivitySpanId.CreateFromString(WorkerSpan);
        var written = new LogEvent(
            DateTimeOffset.Parse("2026-12-01T23:18:35.2330000+00:00", System.Globalization.CultureInfo.InvariantCulture),
            LogEventLevel.Warning,
            new InvalidOperationException("boom"),
            new MessageTemplateParser().Parse(LogTemplates.Received),
            [
                new LogEventProperty("OrderId", new ScalarValue(1001)),
                new LogEventProperty("Queue", new ScalarValue("orders")),
                new LogEventProperty("RequestId", new ScalarValue(Run.RequestId)),
                new LogEventProperty("Elapsed", new ScalarValue(12.5)),
                new LogEventProperty("@weird", new ScalarValue("escaped")),
            ],
            trace,
            span);
        using var json = new StringWriter();
        new CompactJsonFormatter().Format(written, json);

        var line = ChildLine.Read(Roles.Worker, 1, json.ToString().TrimEnd());

        Assert.NotNull(line.Event);
        Assert.Equal(written.Timestamp, line.Timestamp);
        Assert.Equal(LogEventLevel.Warning, line.Event.Level);
        Assert.Equal(LogTemplates.Received, line.Event.MessageTemplate.Text);
        Assert.Equal(trace, line.Event.TraceId);
        Assert.Equal(span, line.Event.SpanId);
        Assert.Equal("1001", line.Property("OrderId"));
        Assert.Equal("12.5", line.Property("Elapsed"));
        Assert.Equal("escaped", line.Property("@weird"));
        Assert.Equal(Run.RequestId, line.Property("RequestId"));
        Assert.Contains("InvalidOperationException: boom", line.Exception, StringComparison.Ordinal);
        Assert.Equal("Received order 1001 from queue orders", DistributedDemo.Message(line));
    }

    [Fact]
    public void ALineThatIsNotAnEvent_IsKeptAsText()
    {
        var line = ChildLine.Read(Roles.Api, 1, "Unhandled exception. System.Exception: boom");

        Assert.Null(line.Event);
        Assert.Equal("Unhandled exception. System.Exception: boom", DistributedDemo.Message(line));
    }

    /// <summary>The lines of the real run in the README, as the three processes wrote them.</summary>
    private static List<ChildLine> GoodRun() =>
    [
        Line(Roles.Api, LogTemplates.ApiReady, "-", "-", null, null, ("Address", "http://127.0.0.1:42285"), ("Queue", Run.Queue), ("Schema", Run.Schema)),
        Line(Roles.Worker, LogTemplates.WorkerReady, "-", "-", null, null, ("Queue", Run.Queue)),
        Line(Roles.Jobs, LogTemplates.JobsReady, "-", "-", null, null, ("Schema", Run.Schema)),
        Line(Roles.Api, LogTemplates.Accepted, Run.RequestId, Trace, Trace, ApiSpan, ("OrderId", 1001)),
        Line(Roles.Api, LogTemplates.Published, Run.RequestId, Trace, Trace, ApiSpan, ("OrderId", 1001), ("Queue", Run.Queue)),
        Line(Roles.Worker, LogTemplates.Received, Run.RequestId, Trace, Trace, WorkerSpan, ("OrderId", 1001), ("Queue", Run.Queue)),
        Line(Roles.Worker, LogTemplates.Reserved, Run.RequestId, Trace, Trace, WorkerSpan, ("OrderId", 1001)),
        Line(Roles.Api, LogTemplates.Enqueued, Run.RequestId, Trace, Trace, ApiSpan, ("JobId", "1"), ("OrderId", 1001)),
        Line(Roles.Api, "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms", Run.RequestId, Trace, Trace, ApiSpan,
            ("RequestMethod", "POST"), ("RequestPath", "/orders/1001"), ("StatusCode", 202), ("Elapsed", 1234.012),
            ("SourceContext", "Serilog.AspNetCore.RequestLoggingMiddleware")),
        Line(Roles.Jobs, LogTemplates.Sending, Run.RequestId, Trace, Trace, JobSpan, ("OrderId", 1001)),
        Line(Roles.Jobs, LogTemplates.Sent, Run.RequestId, Trace, Trace, JobSpan, ("OrderId", 1001)),
    ];

    private static int s_sequence;

    /// <summary>A line as a process writes it: compact JSON with the enricher's properties and the event's trace and span.</summary>
    private static ChildLine Line(string role, string template, string requestId, string traceId, string? trace, string? span, params (string Name, object Value)[] properties)
    {
        var json = new Dictionary<string, object?>
        {
            ["@t"] = DateTimeOffset.UtcNow.AddMilliseconds(Interlocked.Increment(ref s_sequence)).ToString("O"),
            ["@mt"] = template,
        };
        if (trace is not null)
        {
            json["@tr"] = trace;
            json["@sp"] = span;
        }

        foreach (var (name, value) in properties)
        {
            json[name] = value;
        }

        json["RequestId"] = requestId;
        json["TraceId"] = traceId;
        if (span is not null)
        {
            json["SpanId"] = span;
        }

        json["Process"] = role;
        return ChildLine.Read(role, s_sequence, JsonSerializer.Serialize(json));
    }
}
