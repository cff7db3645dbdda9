using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// <c>dotnet run --project samples/ContextMiddleware.Distributed [-- demo]</c>: checks that RabbitMQ and PostgreSQL
/// answer, starts the api, worker and jobs processes (this same program, with a queue and a Hangfire schema of the
/// run's own), sends one request with <c>X-Request-ID: demo-…</c>, waits until the worker and the jobs process have
/// logged their lines of it, stops the processes, removes the queue and the schema, prints the three processes' lines
/// interleaved by time, checks them (<see cref="DemoChecks"/>) and exits 0 when every check passed.
/// </summary>
internal static class DistributedDemo
{
    public const int PassedExitCode = 0;
    public const int FailedExitCode = 1;
    public const int UsageExitCode = 2;
    public const int ServersMissingExitCode = 3;
    public const int InterruptedExitCode = 130;

    /// <summary>From the start to the last line awaited; stopping and cleaning up have bounds of their own.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan CleanUpTimeout = TimeSpan.FromSeconds(15);
    private static readonly MessageTemplateTextFormatter MessageFormatter = new("{Message:lj}");

    /// <param name="output">Where the demo writes.</param>
    /// <param name="args">Settings, as on the command line (<c>--Distributed:RabbitMQ:HostName=127.0.0.1</c>).</param>
    public static async Task<int> RunAsync(TextWriter output, string[] args)
    {
        var stopwatch = Stopwatch.StartNew();
        var settings = DistributedSettings.From(new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(args)
            .Build());
        var run = DemoRun.New();

        // Ctrl+C (or SIGTERM) ends the wait; the processes are still stopped and the queue and schema removed.
        using var interrupted = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(interrupted.Token);
        deadline.CancelAfter(Timeout);

        output.WriteLine("One request through three processes: api (POST /orders/{id}) publishes to RabbitMQ, consumed by worker,");
        output.WriteLine("and enqueues a Hangfire job on PostgreSQL, performed by jobs.");

        var servers = new DemoServers(settings);
        List<string> missing;
        try
        {
            missing = await servers.CheckAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            output.WriteLine(interrupted.IsCancellationRequested ? "Interrupted." : "The servers did not answer in time.");
            return interrupted.IsCancellationRequested ? InterruptedExitCode : ServersMissingExitCode;
        }

        if (missing.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("The demo needs RabbitMQ and PostgreSQL, and could not use them:");
            foreach (var problem in missing)
            {
                output.WriteLine($"  {problem}");
            }

            output.WriteLine("Start them with ./.ci/servers.sh (it installs and starts RabbitMQ on 127.0.0.1:5672, guest/guest, and");
            output.WriteLine("PostgreSQL on 127.0.0.1:5432 with the role and database 'contextmiddleware'; safe to run again), then run the demo again.");
            return ServersMissingExitCode;
        }

        var rabbit = settings.RabbitMQ;
        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(settings.PostgreSql);
        output.WriteLine($"RabbitMQ on {rabbit.HostName}:{rabbit.Port} and PostgreSQL on {postgres.Host}:{postgres.Port} answer.");
        output.WriteLine($"This run: request id {run.RequestId}, queue {run.Queue}, Hangfire schema {run.Schema}.");

        var children = new List<ChildProcess>();
        var failures = new List<string>();
        DemoResponse? response = null;
        var step = "the servers";
        try
        {
            try
            {
                await servers.PrepareAsync(run.Queue, run.Schema, deadline.Token);

                step = "the three processes to be ready";
                output.WriteLine();
                output.WriteLine($"Starting the three processes ({ChildProcess.DescribeSelf()} <role>), each writing compact JSON log events:");
                foreach (var role in Roles.All)
                {
                    children.Add(ChildProcess.Start(role, Arguments(role, run), ChildEnvironment(settings)));
                }

                var ready = await Task.WhenAll(children.Select(child => child.WaitForAsync(line => line.Is(ReadyTemplate(child.Role)), deadline.Token)));
                foreach (var (child, line) in children.Zip(ready))
                {
                    if (line is null)
                    {
                        failures.Add($"{child.Label} exited (code {child.ExitCode}) before it was ready");
                        continue;
                    }

                    var after = (line.Timestamp - child.StartedAt).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
                    output.WriteLine($"  {child.Label,-8} pid {child.Id,-7} ready after {after} s: {Message(line)}");
                }

                if (failures.Count == 0)
                {
                    step = "the API's answer";
                    var address = ready[0]!.Property("Address") ?? throw new InvalidOperationException("The API did not say where it listens.");
                    output.WriteLine();
                    output.WriteLine($"POST {address.TrimEnd('/')}/orders/{DemoRun.OrderId}  X-Request-ID: {run.RequestId}");
                    response = await SendAsync(new Uri(address), run, deadline.Token);
                    output.WriteLine($"  {response}");

                    step = "the order's lines in the three processes";
                    var logged = await Task.WhenAll(children.Select(child => WaitForTheOrderAsync(child, deadline.Token)));
                    failures.AddRange(children.Zip(logged).Where(pair => !pair.Second)
                        .Select(pair => $"{pair.First.Label} exited (code {pair.First.ExitCode}) before it logged its lines of the order"));
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                failures.Add((interrupted.IsCancellationRequested
                    ? $"interrupted while waiting for {step}"
                    : $"waited {Timeout.TotalSeconds:0} s in all, and still for {step}") + Missing(children, afterTheRequest: response is not null));
            }
            catch (Exception exception)
            {
                failures.Add($"while waiting for {step}: {exception.GetType().Name}: {exception.Message}");
            }

            // Always: the processes stopped (gracefully, else killed), then the queue and the schema removed.
            var stops = await Task.WhenAll(children.Select(child => child.StopAsync(StopTimeout)));
            var cleanUp = await servers.CleanUpAsync(run.Queue, run.Schema, CleanUpTimeout);
            output.WriteLine();
            output.WriteLine($"Stopped {string.Join(", ", children.Zip(stops).Select(pair => $"{pair.First.Label} ({pair.Second})"))}; {string.Join(", ", cleanUp)}.");
            failures.AddRange(children.Zip(stops).Where(pair => pair.First.ExitCode != 0)
                .Select(pair => $"{pair.First.Label} did not stop cleanly: {pair.Second}"));
            failures.AddRange(cleanUp.Where(done => done.StartsWith("could not", StringComparison.Ordinal)));
        }
        finally
        {
            foreach (var child in children)
            {
                await child.DisposeAsync();   // kills any that is still running
            }
        }

        var lines = children.SelectMany(child => child.Lines)
            .OrderBy(line => line.Timestamp)
            .ThenBy(line => Roles.All.ToList().IndexOf(line.Role))
            .ThenBy(line => line.Sequence)
            .ToList();
        output.WriteLine();
        output.WriteLine("The three processes' log lines, interleaved by time: time, process, level, RequestId, TraceId, message");
        foreach (var line in lines)
        {
            output.WriteLine(Format(line, run.RequestId.Length));
        }

        foreach (var child in children.Where(child => child.Errors.Count > 0))
        {
            output.WriteLine();
            output.WriteLine($"Standard error of {child.Label}:");
            foreach (var error in child.Errors)
            {
                output.WriteLine($"  {error}");
            }
        }

        output.WriteLine();
        output.WriteLine("Checks:");
        var passed = new List<string>();
        if (response is not null || failures.Count == 0)
        {
            failures.AddRange(DemoChecks.Check(run, response, lines, passed));
        }
        else
        {
            output.WriteLine("  (the request's lines were not checked: the run ended before the API answered)");
        }

        foreach (var ok in passed)
        {
            output.WriteLine($"  ok  {ok}");
        }

        foreach (var failure in failures)
        {
            output.WriteLine($"  FAILED  {failure}");
        }

        var seconds = stopwatch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
        if (failures.Count == 0)
        {
            var count = lines.Count(line => line.Property("RequestId") == run.RequestId);
            output.WriteLine($"PASS: the request's {count} lines in api, worker and jobs all carried RequestId {run.RequestId} "
                + $"and TraceId {DemoChecks.TraceIdOf(response, lines)}. ({seconds} s)");
            return PassedExitCode;
        }

        output.WriteLine($"FAIL: {failures.Count} of the checks failed. ({seconds} s)");
        return interrupted.IsCancellationRequested ? InterruptedExitCode : FailedExitCode;

        void Interrupt(PosixSignalContext context)
        {
            context.Cancel = true;
            interrupted.Cancel();
        }
    }

    /// <summary>The message of a line as the console shows it (strings unquoted); the raw text when it is not an event.</summary>
    internal static string Message(ChildLine line)
    {
        if (line.Event is null)
        {
            return line.Text;
        }

        using var message = new StringWriter(CultureInfo.InvariantCulture);
        MessageFormatter.Format(line.Event, message);
        return message.ToString();
    }

    /// <summary>A line as the demo prints it: time, process, level, RequestId, TraceId, message (and exception).</summary>
    internal static string Format(ChildLine line, int requestIdWidth)
    {
        var time = line.Timestamp.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var label = $"[{line.Role}]";
        if (line.Event is null)
        {
            return $"{time} {label,-8} (not a log event) {line.Text}";
        }

        var text = $"{time} {label,-8} {Level(line.Event.Level)} {(line.Property("RequestId") ?? "").PadRight(requestIdWidth)} "
            + $"{(line.Property("TraceId") ?? ""),-32} {Message(line)}";
        return line.Exception is null ? text : $"{text}{Environment.NewLine}{line.Exception}";
    }

    private static string Level(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "VRB",
        LogEventLevel.Debug => "DBG",
        LogEventLevel.Information => "INF",
        LogEventLevel.Warning => "WRN",
        LogEventLevel.Error => "ERR",
        _ => "FTL",
    };

    private static string ReadyTemplate(string role) => role switch
    {
        Roles.Api => LogTemplates.ApiReady,
        Roles.Worker => LogTemplates.WorkerReady,
        _ => LogTemplates.JobsReady,
    };

    /// <summary>A child's settings that are the run's own, on its command line.</summary>
    private static List<string> Arguments(string role, DemoRun run)
    {
        List<string> arguments =
        [
            $"--{DistributedSettings.SectionName}:LogFormat=Json",
            $"--{DistributedSettings.SectionName}:StopWhenInputCloses=true",
            $"--{DistributedSettings.SectionName}:Queue={run.Queue}",
            $"--{DistributedSettings.SectionName}:HangfireSchema={run.Schema}",
        ];
        if (role == Roles.Api)
        {
            arguments.Add("--urls=http://127.0.0.1:0");   // a free loopback port
        }

        return arguments;
    }

    /// <summary>The servers the demo checked, passed on to the children in their environment (not on a command line).</summary>
    private static Dictionary<string, string> ChildEnvironment(DistributedSettings settings)
    {
        const string Prefix = DistributedSettings.SectionName + "__";
        return new Dictionary<string, string>
        {
            [Prefix + "RabbitMQ__HostName"] = settings.RabbitMQ.HostName,
            [Prefix + "RabbitMQ__Port"] = settings.RabbitMQ.Port.ToString(CultureInfo.InvariantCulture),
            [Prefix + "RabbitMQ__UserName"] = settings.RabbitMQ.UserName,
            [Prefix + "RabbitMQ__Password"] = settings.RabbitMQ.Password,
            [Prefix + "PostgreSql"] = settings.PostgreSql,
        };
    }

    private static async Task<DemoResponse> SendAsync(Uri address, DemoRun run, CancellationToken cancellationToken)
    {
        // A client from outside: it sends only the headers written here (no traceparent), over loopback, no proxy.
        using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null, UseProxy = false })
        {
            BaseAddress = address,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/orders/{DemoRun.OrderId}");
        request.Headers.Add("X-Request-ID", run.RequestId);
        using var response = await client.SendAsync(request, cancellationToken);
        return await DemoResponse.ReadAsync(response, cancellationToken);
    }

    /// <summary>What the processes have not logged yet: <c>: [worker] ready; [jobs] sending, sent</c>; empty when nothing.</summary>
    private static string Missing(List<ChildProcess> children, bool afterTheRequest)
    {
        var missing = new List<string>();
        foreach (var child in children)
        {
            var lines = child.Lines;
            var names = new List<string>();
            if (!lines.Any(line => line.Is(ReadyTemplate(child.Role))))
            {
                names.Add("ready");
            }

            if (afterTheRequest)
            {
                names.AddRange(DemoChecks.Stages.Where(stage => stage.Role == child.Role && !lines.Any(stage.Is)).Select(stage => stage.Name));
            }

            if (names.Count > 0)
            {
                missing.Add($"{child.Label} {string.Join(", ", names)}");
            }
        }

        return missing.Count == 0 ? "" : $" (not logged yet: {string.Join("; ", missing)})";
    }

    /// <summary>Waits for each of the process's lines of the order; false when it exited first.</summary>
    private static async Task<bool> WaitForTheOrderAsync(ChildProcess child, CancellationToken cancellationToken)
    {
        foreach (var stage in DemoChecks.Stages.Where(stage => stage.Role == child.Role))
        {
            if (await child.WaitForAsync(stage.Is, cancellationToken) is null)
            {
                return false;
            }
        }

        return true;
    }
}
