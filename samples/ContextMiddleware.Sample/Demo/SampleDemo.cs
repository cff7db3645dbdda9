using System.Globalization;
using System.Net.Http.Headers;
using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Sample.Demo;

/// <summary>
/// <c>dotnet run --project samples/ContextMiddleware.Sample -- demo</c>: starts the sample on a free loopback port,
/// sends two concurrent requests (req-123 anonymous, req-456 as alice), waits for their background jobs,
/// then tracks both orders over SignalR at once (two stream invocations on one connection), prints the log lines as
/// they were written, checks that every line carries its own request's (or invocation's) ids, and exits 0 when it
/// does (1 when it does not).
/// </summary>
internal static class SampleDemo
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static readonly DemoRequest[] Requests =
    [
        new("req-123", OrderId: 1001, UserId: null),
        new("req-456", OrderId: 1002, UserId: "alice"),
    ];

    /// <param name="output">Where the demo writes.</param>
    /// <param name="args">More settings, as on the command line (<c>--Sample:JsonLogFile=logs/demo.json</c>).</param>
    public static async Task<int> RunAsync(TextWriter output, string[] args)
    {
        var sink = new DemoLogSink(output);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            // The sample's own settings (appsettings*.json are copied next to the program), on a free loopback port,
            // with the demo's sink in place of the console sink.
            Args = [.. args, "--urls=http://127.0.0.1:0", $"--{SampleApp.SectionName}:ConsoleLog=false"],
            EnvironmentName = Environments.Development,
            ContentRootPath = AppContext.BaseDirectory,
        });
        SampleApp.ConfigureServices(builder);
        builder.Services.AddSingleton<ILogEventSink>(sink);

        await using var app = builder.Build();
        SampleApp.Configure(app);
        using var timeout = new CancellationTokenSource(Timeout);
        await app.StartAsync(timeout.Token);
        var address = new Uri(app.Urls.First());

        // A client from outside the app: it sends only the headers written here.
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = address };
        var token = app.Services.GetRequiredService<DevTokenIssuer>().Issue("alice", "Alice");

        output.WriteLine($"The sample listens on {address}. Two concurrent requests:");
        foreach (var request in Requests)
        {
            output.WriteLine($"  GET /orders/{request.OrderId}  X-Request-ID: {request.RequestId}  "
                + (request.UserId is null ? "(anonymous)" : $"Authorization: Bearer <token of {request.UserId}>"));
        }

        output.WriteLine();
        output.WriteLine("Log lines as written: time, level, RequestId, TraceId, UserId, message");

        var responses = await Task.WhenAll(Requests.Select(request =>
            SendAsync(client, request, request.UserId is null ? null : token, timeout.Token)));
        var jobsDone = await sink.WaitUntilAsync(
            events => Requests.All(request => events.Any(e => Is(e, request, Stage.BackgroundJob))), Timeout);

        output.WriteLine();
        output.WriteLine("Order status pushed over SignalR: alice tracks both orders at once, on one connection (/hubs/orders)");
        var tracked = await HubDemo.TrackAsync(address, token, timeout.Token);
        await app.StopAsync(CancellationToken.None);

        output.WriteLine();
        output.WriteLine("Responses:");
        foreach (var (request, response) in Requests.Zip(responses))
        {
            output.WriteLine($"  {request.RequestId}: {response}");
        }

        output.WriteLine();
        output.WriteLine("Checks:");
        var failures = new List<string>();
        if (!jobsDone)
        {
            failures.Add($"the background jobs did not log within {Timeout.TotalSeconds:0} s");
        }

        var events = sink.Events;
        foreach (var (request, response) in Requests.Zip(responses))
        {
            var problems = Check(request, response, events);
            failures.AddRange(problems.Select(problem => $"{request.RequestId}: {problem}"));
            if (problems.Count == 0)
            {
                output.WriteLine($"  ok  {Describe(request, events)}");
            }
        }

        foreach (var (orderId, statuses) in HubDemo.Orders.Zip(tracked))
        {
            var problems = HubDemo.Check(orderId, statuses, events);
            failures.AddRange(problems.Select(problem => $"Track({orderId}): {problem}"));
            if (problems.Count == 0)
            {
                output.WriteLine($"  ok  {HubDemo.Describe(orderId, events)}");
            }
        }

        foreach (var failure in failures)
        {
            output.WriteLine($"  FAILED  {failure}");
        }

        output.WriteLine(failures.Count == 0
            ? "Each line carried its own request's id and trace id; no value crossed from one request to the other."
            : "The demo found lines that do not carry their own request's context.");
        return failures.Count == 0 ? 0 : 1;
    }

    private static async Task<DemoResponse> SendAsync(HttpClient client, DemoRequest request, string? token, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, $"/orders/{request.OrderId}");
        message.Headers.Add("X-Request-ID", request.RequestId);
        if (token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(message, cancellationToken);
        return await DemoResponse.ReadAsync(response, cancellationToken);
    }

    /// <summary>What the walkthrough claims about one request's lines; each problem found, in words.</summary>
    internal static List<string> Check(DemoRequest request, DemoResponse response, IReadOnlyList<LogEvent> events)
    {
        var problems = new List<string>();
        if (response.Status != 200 || response.EchoedRequestId != request.RequestId)
        {
            problems.Add($"answered {response.Status} with X-Request-ID {response.EchoedRequestId ?? "(none)"}");
        }

        // Both trace ids of a line: the enricher's TraceId property and the event's own (Activity) trace id, which is
        // what {TraceId} shows in a Serilog 4 text template.
        var lines = events.Where(e => Property(e, "RequestId") == request.RequestId).ToList();
        var traceIds = lines.SelectMany(e => new[] { Property(e, "TraceId"), e.TraceId?.ToHexString() }).Distinct().ToList();
        if (traceIds.Count != 1)
        {
            problems.Add($"its lines carry {traceIds.Count} trace ids");
            return problems;
        }

        var others = events.Where(e => Property(e, "RequestId") != request.RequestId
            && (Property(e, "TraceId") == traceIds[0] || e.TraceId?.ToHexString() == traceIds[0]));
        if (others.Any())
        {
            problems.Add("its trace id appears on another request's line");
        }

        foreach (var stage in Enum.GetValues<Stage>())
        {
            var count = lines.Count(e => Is(e, request, stage));
            var expected = stage == Stage.ParallelReservation ? 3 : 1;
            if (count != expected)
            {
                problems.Add($"{count} '{stage}' lines instead of {expected}");
            }
        }

        if (problems.Count > 0)
        {
            return problems;
        }

        var handler = lines.First(e => Is(e, request, Stage.Handler));
        var payment = lines.First(e => Is(e, request, Stage.PaymentService));
        if (Property(payment, "SpanId") == Property(handler, "SpanId"))
        {
            problems.Add("the payment service's line has the caller's span id, not its own");
        }

        var withUser = lines.Where(e => !ServedByThePaymentService(e));
        if (withUser.Any(e => Property(e, "UserId") != request.UserId))
        {
            problems.Add($"a line of the request does not carry UserId {request.UserId ?? "(none)"}");
        }

        var completed = lines.First(e => Is(e, request, Stage.Completion));
        var job = lines.First(e => Is(e, request, Stage.BackgroundJob));
        if (job.Timestamp <= completed.Timestamp)
        {
            problems.Add("the background job logged before the response was sent");
        }

        return problems;
    }

    private static string Describe(DemoRequest request, IReadOnlyList<LogEvent> events)
    {
        var lines = events.Where(e => Property(e, "RequestId") == request.RequestId).ToList();
        var completed = lines.First(e => Is(e, request, Stage.Completion));
        var job = lines.First(e => Is(e, request, Stage.BackgroundJob));
        var after = (job.Timestamp - completed.Timestamp).TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
        return $"{request.RequestId}: {lines.Count} lines, one trace id ({Property(lines[0], "TraceId")}), "
            + $"user {request.UserId ?? "none"}; handler, nested services, 3 parallel reservations, the payment service "
            + $"over HTTP (own span), and the background job {after} ms after the response";
    }

    /// <summary>Where a line comes from: each stage of an order, told by its message template.</summary>
    internal enum Stage
    {
        Handler,
        NestedService,
        Payment,
        PaymentService,
        ParallelReservation,
        Completion,
        BackgroundJob,
    }

    private static bool Is(LogEvent e, DemoRequest request, Stage stage) =>
        Property(e, "RequestId") == request.RequestId && stage switch
        {
            Stage.Handler => e.MessageTemplate.Text == "Handling order {OrderId}",
            Stage.NestedService => e.MessageTemplate.Text == "Fetching data for {Customer}",
            Stage.Payment => e.MessageTemplate.Text == "Processing payment of {Amount} for order {OrderId}",
            Stage.PaymentService => e.MessageTemplate.Text == "Authorizing payment of {Amount} for order {OrderId}",
            Stage.ParallelReservation => e.MessageTemplate.Text == "Reserved {Item} for order {OrderId}",
            Stage.Completion => Property(e, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"
                && Property(e, "RequestPath") == $"/orders/{request.OrderId}",
            Stage.BackgroundJob => e.MessageTemplate.Text == "Sent the confirmation email of order {OrderId} to {Customer}",
            _ => false,
        };

    // The lines the payment service wrote while serving the order's call: no user there (credentials are not context).
    private static bool ServedByThePaymentService(LogEvent e) => Property(e, "RequestPath") == "/payments";

    /// <summary>The value of a scalar property of an event, as a string; null when absent.</summary>
    internal static string? Property(LogEvent e, string name) =>
        e.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: var scalar } ? scalar?.ToString() : null;
}
