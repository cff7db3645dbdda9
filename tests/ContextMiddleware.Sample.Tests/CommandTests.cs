using System.Net;
using System.Text.RegularExpressions;
using ContextMiddleware.Sample.Demo;
using ContextMiddleware.Sample.Tests.Support;

namespace ContextMiddleware.Sample.Tests;

/// <summary>The sample's commands: the self-running demo, serving with curl commands printed, and a wrong command.</summary>
public partial class CommandTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Demo_PrintsBothRequestsInterleavedLines_AndPasses()
    {
        using var output = new StringWriter();

        var exitCode = await SampleDemo.RunAsync(output, []);

        var text = output.ToString();
        Assert.True(exitCode == 0, text);
        var lines = text.Split(Environment.NewLine);
        var logLines = lines.Where(line => LogLine().IsMatch(line)).Select(ConsoleLine.Parse).ToList();
        Assert.Equal(12, logLines.Count(l => l.RequestId == "req-123"));
        Assert.Equal(12, logLines.Count(l => l.RequestId == "req-456"));
        Assert.Contains(lines, line => line.StartsWith("  ok  req-123: 12 lines, one trace id", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("  ok  req-456: 12 lines, one trace id", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.StartsWith("  req-456: 200, X-Request-ID: req-456, {\"orderId\":1002,\"customer\":\"Alice\"", StringComparison.Ordinal));

        // The SignalR part: two Track invocations on one connection, each with an id of its own, none the connect
        // request's, whose own line (the WebSocket's 101) carries the connect request's id.
        var tracks = lines.Where(line => line.StartsWith("  ok  Track(", StringComparison.Ordinal)).Select(line => TrackLine().Match(line)).ToList();
        Assert.Equal(2, tracks.Count);
        Assert.All(tracks, match => Assert.True(match.Success));
        Assert.NotEqual(tracks[0].Groups["id"].Value, tracks[1].Groups["id"].Value);
        var connectRequest = Assert.Single(tracks.Select(match => match.Groups["connect"].Value).Distinct());
        Assert.Contains(logLines, line => line.RequestId == connectRequest && line.Message.Contains("/hubs/orders responded 101", StringComparison.Ordinal));
        Assert.Equal(4, logLines.Count(line => line.RequestId == tracks[0].Groups["id"].Value));
    }

    [GeneratedRegex(@"^  ok  Track\(\d+\): 4 lines and 3 pushed statuses, request id (?<id>[0-9a-f]{32}) \(its own\), one trace id, user alice, connect request (?<connect>[0-9a-f]{32})$")]
    private static partial Regex TrackLine();

    [Fact]
    public async Task DemoCommand_RunsAsAProcess_AndExitsZero()
    {
        await using var demo = SampleProcess.Start(args: "demo");

        var exitCode = await demo.WaitForExitAsync(Timeout);

        Assert.True(exitCode == 0, demo.Output);
        Assert.Contains(demo.Lines, line => line.StartsWith("Each line carried its own request's id", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_PrintsCurlCommands_ThatWorkAgainstTheRunningApp()
    {
        await using var serve = SampleProcess.Start(
            new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Development" },
            "--urls=http://127.0.0.1:0");

        var curl = await serve.WaitForLineAsync(line => line.Contains("curl -i http", StringComparison.Ordinal), Timeout);
        await serve.WaitForLineAsync(line => line.Contains("-- demo", StringComparison.Ordinal), Timeout);
        var url = CurlUrl().Match(curl).Value;
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Request-ID", "req-123");
        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("req-123", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        Assert.Contains(serve.Lines, line => line.Contains("/dev/token?user=alice", StringComparison.Ordinal));
        var handled = await serve.WaitForLineAsync(line => line.EndsWith("Handling order 1001", StringComparison.Ordinal), Timeout);
        Assert.Equal("req-123", ConsoleLine.Parse(handled).RequestId);   // the console sink, with the template
    }

    [Fact]
    public async Task UnknownCommand_PrintsTheUsage_AndExitsTwo()
    {
        await using var sample = SampleProcess.Start(args: "nonsense");

        var exitCode = await sample.WaitForExitAsync(Timeout);

        Assert.Equal(2, exitCode);
        Assert.Contains(sample.Lines, line => line.Contains("Usage:", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{3} [A-Z]{3} ")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/orders/1001")]
    private static partial Regex CurlUrl();
}
