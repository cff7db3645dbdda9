using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ContextMiddleware.Sample.Demo;
using ContextMiddleware.Sample.Tests.Support;
using Serilog.Events;
using static ContextMiddleware.Sample.Demo.SampleDemo;

namespace ContextMiddleware.Sample.Tests;

/// <summary>The README walkthrough's claims, checked on the sample's captured log output.</summary>
public class WalkthroughTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task TwoConcurrentOrders_EachConsoleLineCarriesItsOwnRequestsIds()
    {
        await using var sample = new SampleFactory();
        var client = sample.CreateClient();

        var responses = await Task.WhenAll(
            sample.GetOrderAsync(client, 1001, "req-123"),
            sample.GetOrderAsync(client, 1002, "req-456", userId: "alice"));
        await WaitForJobsAsync(sample, "req-123", "req-456");

        var receipts = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<JsonElement>()));
        var traceOf = new Dictionary<string, string>
        {
            ["req-123"] = receipts[0].GetProperty("traceId").GetString()!,
            ["req-456"] = receipts[1].GetProperty("traceId").GetString()!,
        };
        Assert.NotEqual(traceOf["req-123"], traceOf["req-456"]);

        var lines = sample.Logs.Lines.Select(ConsoleLine.Parse).Where(l => l.RequestId.StartsWith("req-", StringComparison.Ordinal)).ToList();
        foreach (var (requestId, traceId) in traceOf)
        {
            var own = lines.Where(l => l.RequestId == requestId).ToList();
            Assert.Equal(12, own.Count);                               // the walkthrough's twelve lines per request
            Assert.All(own, l => Assert.Equal(traceId, l.TraceId));    // each shows its own trace id
            Assert.Contains(own, l => l.Message.StartsWith("Fetching data for", StringComparison.Ordinal));
            Assert.Equal(3, own.Count(l => l.Message.StartsWith("Reserved ", StringComparison.Ordinal)));
            Assert.Contains(own, l => l.Message.StartsWith("Authorizing payment", StringComparison.Ordinal));
            Assert.Contains(own, l => l.Message.StartsWith("Sent the confirmation email", StringComparison.Ordinal));
        }

        // The user is on every line of alice's request except the payment service's (credentials are not context).
        var alice = lines.Where(l => l.RequestId == "req-456").ToList();
        Assert.All(alice.Where(l => !ServedByPayments(l)), l => Assert.Equal("alice", l.UserId));
        Assert.All(alice.Where(ServedByPayments), l => Assert.Equal("", l.UserId));
        Assert.All(lines.Where(l => l.RequestId == "req-123"), l => Assert.Equal("", l.UserId));

        // And the demo's own checks agree (request id echoed, stages, spans, job after the response).
        var events = sample.Logs.Events;
        Assert.Empty(SampleDemo.Check(new DemoRequest("req-123", 1001, null), await DemoResponse.ReadAsync(responses[0]), events));
        Assert.Empty(SampleDemo.Check(new DemoRequest("req-456", 1002, "alice"), await DemoResponse.ReadAsync(responses[1]), events));
    }

    [Fact]
    public async Task PaymentService_GetsTheCallersRequestIdAndTrace_WithASpanOfItsOwn()
    {
        await using var sample = new SampleFactory();

        var response = await sample.GetOrderAsync(sample.CreateClient(), 7, "req-pay", userId: "bob");
        response.EnsureSuccessStatusCode();

        var events = sample.Logs.Events.Where(e => Property(e, "RequestId") == "req-pay").ToList();
        var handler = Assert.Single(events, e => e.MessageTemplate.Text == "Handling order {OrderId}");
        var payment = Assert.Single(events, e => e.MessageTemplate.Text == "Authorizing payment of {Amount} for order {OrderId}");
        Assert.Equal(Property(handler, "TraceId"), Property(payment, "TraceId"));
        Assert.Equal(handler.TraceId, payment.TraceId);
        Assert.NotEqual(Property(handler, "SpanId"), Property(payment, "SpanId"));
        Assert.Equal("bob", Property(handler, "UserId"));
        Assert.Null(Property(payment, "UserId"));
    }

    [Fact]
    public async Task BackgroundJob_LogsAfterTheResponse_WithItsRequestsIdsAndUser()
    {
        await using var sample = new SampleFactory();

        var response = await sample.GetOrderAsync(sample.CreateClient(), 8, "req-job", userId: "carol");
        var responded = DateTimeOffset.Now;
        await WaitForJobsAsync(sample, "req-job");

        var events = sample.Logs.Events.Where(e => Property(e, "RequestId") == "req-job").ToList();
        var handler = Assert.Single(events, e => e.MessageTemplate.Text == "Handling order {OrderId}");
        var job = Assert.Single(events, IsJob);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(job.Timestamp >= responded.AddMilliseconds(-5), "the job logged before the response arrived");
        Assert.Equal(Property(handler, "TraceId"), Property(job, "TraceId"));
        Assert.Equal(handler.TraceId, job.TraceId);                  // what {TraceId} shows: the job runs in the trace
        Assert.Equal(Property(handler, "SpanId"), Property(job, "SpanId"));
        Assert.Equal("carol", Property(job, "UserId"));
    }

    [Fact]
    public async Task FiftyInterleavedOrders_NoValueCrossesFromOneRequestToAnother()
    {
        await using var sample = new SampleFactory();
        var client = sample.CreateClient();
        var requests = Enumerable.Range(0, 50)
            .Select(i => new DemoRequest($"req-{i:000}", 2000 + i, i % 2 == 0 ? $"user{i}" : null))
            .ToList();

        var responses = await Task.WhenAll(requests.Select(r => sample.GetOrderAsync(client, r.OrderId, r.RequestId, r.UserId)));
        await WaitForJobsAsync(sample, [.. requests.Select(r => r.RequestId)]);

        var events = sample.Logs.Events;
        foreach (var (request, response) in requests.Zip(responses))
        {
            Assert.Empty(SampleDemo.Check(request, await DemoResponse.ReadAsync(response), events));
        }

        var traceIds = requests.Select(r => events.First(e => Property(e, "RequestId") == r.RequestId).TraceId).Distinct();
        Assert.Equal(50, traceIds.Count());
    }

    [Fact]
    public async Task Order_WithoutARequestId_GetsAFreshOne_EchoedAndLogged()
    {
        await using var sample = new SampleFactory();

        var response = await sample.CreateClient().GetAsync("/orders/5");
        var receipt = await response.Content.ReadFromJsonAsync<JsonElement>();

        var requestId = Assert.Single(response.Headers.GetValues("X-Request-ID"));
        Assert.Matches("^[0-9a-f]{32}$", requestId);
        Assert.Equal(requestId, receipt.GetProperty("requestId").GetString());
        Assert.Contains(sample.Logs.Lines, line => line.Contains($" {requestId} ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("99999999999")]
    public async Task Order_WithABadId_IsNotFound_NeverAServerError(string id)
    {
        await using var sample = new SampleFactory();

        var response = await sample.CreateClient().GetAsync($"/orders/{id}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"orderId\":1,\"amount\":-5}")]
    [InlineData("{\"orderId\":\"one\"}")]
    [InlineData("not json")]
    public async Task PaymentService_WithABadBody_Is400_NeverAServerError(string body)
    {
        await using var sample = new SampleFactory();

        var response = await sample.CreateClient().PostAsync(
            "/payments", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Single(response.Headers.GetValues("X-Request-ID"));
    }

    [Fact]
    public async Task JsonLogFile_HoldsEveryEvent_WithTheRequestsProperties()
    {
        var path = Path.Combine(Path.GetTempPath(), $"contextmiddleware-sample-{Guid.NewGuid():N}.json");
        try
        {
            await using (var sample = new SampleFactory(settings: new() { ["Sample:JsonLogFile"] = path }))
            {
                await sample.GetOrderAsync(sample.CreateClient(), 9, "req-json", userId: "dave");
                await WaitForJobsAsync(sample, "req-json");
            }

            var events = File.ReadAllLines(path).Select(line => JsonDocument.Parse(line).RootElement).ToList();
            var own = events.Where(e => e.TryGetProperty("RequestId", out var id) && id.GetString() == "req-json").ToList();
            Assert.Equal(12, own.Count);
            var traceId = own[0].GetProperty("TraceId").GetString();
            Assert.All(own, e =>
            {
                Assert.Equal(traceId, e.GetProperty("TraceId").GetString());
                Assert.Equal(traceId, e.GetProperty("@tr").GetString());
                Assert.Matches("^[0-9a-f]{16}$", e.GetProperty("SpanId").GetString());
            });
            Assert.Contains(own, e => e.GetProperty("@mt").GetString()!.StartsWith("Sent the confirmation", StringComparison.Ordinal)
                && e.GetProperty("UserId").GetString() == "dave");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static bool ServedByPayments(ConsoleLine line) =>
        line.Message.StartsWith("Authorizing payment", StringComparison.Ordinal)
        || line.Message.StartsWith("HTTP POST /payments", StringComparison.Ordinal);

    private static bool IsJob(LogEvent e) =>
        e.MessageTemplate.Text == "Sent the confirmation email of order {OrderId} to {Customer}";

    private static async Task WaitForJobsAsync(SampleFactory sample, params string[] requestIds) =>
        Assert.True(
            await sample.Logs.WaitUntilAsync(
                events => requestIds.All(id => events.Any(e => IsJob(e) && Property(e, "RequestId") == id)), Timeout),
            "the background jobs did not log in time");
}
