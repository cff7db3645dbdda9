using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ContextMiddleware.Distributed.Demo;
using ContextMiddleware.Testing;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace ContextMiddleware.Distributed.Tests;

/// <summary>
/// The distributed demo as a user runs it: a real process that starts api, worker and jobs as processes of their own,
/// against the RabbitMQ and PostgreSQL servers of .ci/servers.sh. A missing server fails the test, saying so.
/// </summary>
public sealed partial class DistributedDemoTests
{
    /// <summary>The demo bounds itself (90 s, then at most 15 s to stop the processes and 15 s to clean up).</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task Demo_TwiceInARow_EachRequestsIdAndTraceIdOnEveryLineOfTheThreeProcesses_AndNothingLeftBehind()
    {
        // Not while another test assembly (run in parallel) restarts the broker.
        using var broker = await MachineLock.AcquireAsync(MachineLock.RabbitMQBroker, TimeSpan.FromMinutes(5));
        var first = await RunAndCheckAsync();
        var second = await RunAndCheckAsync();

        Assert.NotEqual(first.RequestId, second.RequestId);
        Assert.NotEqual(first.TraceId, second.TraceId);
    }

    [Fact]
    public async Task Demo_WithoutItsServers_NamesTheScript_AndExitsThree()
    {
        var port = FreePort();
        await using var demo = DemoProcess.Start(
            "demo",
            $"--Distributed:RabbitMQ:Port={port}",
            $"--Distributed:PostgreSql=Host=127.0.0.1;Port={port};Username=contextmiddleware;Password=contextmiddleware;Database=contextmiddleware;Timeout=3");

        var exitCode = await demo.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode == DistributedDemo.ServersMissingExitCode, demo.Output);
        Assert.Contains(demo.Lines, line => line.Contains($"RabbitMQ: nothing accepts connections on 127.0.0.1:{port}", StringComparison.Ordinal));
        Assert.Contains(demo.Lines, line => line.Contains($"PostgreSQL: no connection to database 'contextmiddleware' on 127.0.0.1:{port}", StringComparison.Ordinal));
        Assert.Contains(demo.Lines, line => line.Contains("./.ci/servers.sh", StringComparison.Ordinal));
        Assert.DoesNotContain(demo.Lines, line => line.Contains("Starting the three processes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownCommand_PrintsTheUsage_AndExitsTwo()
    {
        await using var program = DemoProcess.Start("nonsense");

        var exitCode = await program.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(DistributedDemo.UsageExitCode, exitCode);
        Assert.Contains(program.Lines, line => line.Contains("Usage:", StringComparison.Ordinal));
    }

    private sealed record Run(string RequestId, string TraceId);

    private static async Task<Run> RunAndCheckAsync()
    {
        var stopwatch = Stopwatch.StartNew();
        await using var demo = DemoProcess.Start("demo");

        var exitCode = await demo.WaitForExitAsync(Timeout);

        var output = demo.Output;
        if (exitCode == DistributedDemo.ServersMissingExitCode)
        {
            Assert.Fail($"RabbitMQ or PostgreSQL is not running on 127.0.0.1: run ./.ci/servers.sh (as .ci/run does), then the tests again. The demo printed:{Environment.NewLine}{output}");
        }

        Assert.True(exitCode == 0, output);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(120), $"The demo took {stopwatch.Elapsed}.{Environment.NewLine}{output}");
        var lines = demo.Lines;

        var run = RunLine().Match(Assert.Single(lines, line => line.StartsWith("This run: ", StringComparison.Ordinal)));
        Assert.True(run.Success, output);
        var requestId = run.Groups["request"].Value;
        var answer = AnswerLine().Match(Assert.Single(lines, line => line.StartsWith("  202, ", StringComparison.Ordinal)));
        Assert.True(answer.Success, output);
        Assert.Equal(requestId, answer.Groups["echoed"].Value);
        var traceId = answer.Groups["trace"].Value;

        // The interleaved lines: every one of the request's, in each of the three processes, with its ids.
        var logLines = lines.Select(line => LogLine().Match(line)).Where(match => match.Success).ToList();
        var ofTheRequest = logLines.Where(match => match.Groups["request"].Value == requestId).ToList();
        Assert.Equal(4, ofTheRequest.Count(match => match.Groups["process"].Value == "api"));
        Assert.Equal(2, ofTheRequest.Count(match => match.Groups["process"].Value == "worker"));
        Assert.Equal(2, ofTheRequest.Count(match => match.Groups["process"].Value == "jobs"));
        Assert.All(ofTheRequest, match => Assert.Equal(traceId, match.Groups["trace"].Value));
        Assert.All(
            logLines.Where(match => match.Groups["message"].Value.Contains("order 1001", StringComparison.Ordinal)),
            match => Assert.Equal(requestId, match.Groups["request"].Value));
        Assert.Contains(ofTheRequest, match => match.Groups["process"].Value == "worker" && match.Groups["message"].Value == "Reserved stock for order 1001");
        Assert.Contains(ofTheRequest, match => match.Groups["process"].Value == "jobs" && match.Groups["message"].Value == "Sent the confirmation of order 1001");
        Assert.Equal(3, lines.Count(line => line.StartsWith("  ok  [", StringComparison.Ordinal)));
        Assert.Contains(lines, line => line.StartsWith($"PASS: the request's 8 lines in api, worker and jobs all carried RequestId {requestId} and TraceId {traceId}.", StringComparison.Ordinal));

        // Nothing left behind: the three processes ended, the run's queue deleted and its schema dropped.
        var pids = lines.Select(line => PidLine().Match(line)).Where(match => match.Success).Select(match => int.Parse(match.Groups["pid"].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(3, pids.Count);
        Assert.All(pids, pid => Assert.False(IsRunning(pid), $"process {pid} is still running"));
        Assert.Contains(lines, line => line.StartsWith("Stopped [api] (exited with 0), [worker] (exited with 0), [jobs] (exited with 0); ", StringComparison.Ordinal));
        var suffix = requestId["demo-".Length..];
        Assert.False(await SchemaExistsAsync($"distributed_demo_{suffix}"));
        Assert.False(await QueueExistsAsync($"distributed-demo-{suffix}"));

        return new Run(requestId, traceId);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static async Task<bool> SchemaExistsAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(new DistributedSettings().PostgreSql);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_namespace WHERE nspname = @schema", connection);
        command.Parameters.AddWithValue("schema", schema);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    private static async Task<bool> QueueExistsAsync(string queue)
    {
        await using var connection = await new DistributedSettings().RabbitMQ.CreateFactory().CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            await channel.QueueDeclarePassiveAsync(queue);
            return true;
        }
        catch (OperationInterruptedException exception) when (exception.ShutdownReason?.ReplyCode == 404)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [GeneratedRegex(@"^This run: request id (?<request>demo-[0-9a-f]{8}), queue distributed-demo-[0-9a-f]{8}, Hangfire schema distributed_demo_[0-9a-f]{8}\.$")]
    private static partial Regex RunLine();

    [GeneratedRegex("""^  202, X-Request-ID: (?<echoed>\S+), \{"orderId":1001,"requestId":"(?<request>[^"]+)","traceId":"(?<trace>[0-9a-f]{32})","jobId":"\d+"\}$""")]
    private static partial Regex AnswerLine();

    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{3} \[(?<process>api|worker|jobs)\] +(?<level>[A-Z]{3}) (?<request>\S+) +(?<trace>[0-9a-f]{32}|-) +(?<message>.*)$")]
    private static partial Regex LogLine();

    [GeneratedRegex(@"^  \[(api|worker|jobs)\] +pid (?<pid>\d+) +ready after ")]
    private static partial Regex PidLine();
}
