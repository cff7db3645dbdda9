using BenchmarkDotNet.Running;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project benchmarks/ContextMiddleware.Benchmarks -- --filter '*'</c>.
/// Exits non-zero when any benchmark fails, so a smoke run (<c>--job dry</c>) can gate a build.
/// <c>serve VARIANT URL</c> runs a load-test server instead (see <c>load.sh</c>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["serve", var variant, var url])
        {
            return await LoadServer.RunAsync(variant, url);
        }

        if (args is ["probe", var which, var logging, var incoming])
        {
            // A quick, unscientific loop to find where time goes; the figures to report come from PipelineBenchmarks.
            using var server = PipelineBenchmarks.Server.Start(
                bool.Parse(logging), bool.Parse(incoming),
                which == "ours" ? static services => services.AddRequestContext() : static (IServiceCollection _) => { },
                which == "ours" ? static app => app.UseRequestContext() : static (WebApplication _) => { });
            await RoundsAsync(which, 200_000, server.SendAsync, allThreads: false);
            return 0;
        }

        if (args is ["baggageprobe"])
        {
            // A quick loop to find where the time of reading and writing baggage goes; the figures come from BaggageBenchmarks.
            var benchmarks = new BaggageBenchmarks();
            benchmarks.SetUp();
            var header = (Microsoft.Extensions.Primitives.StringValues)benchmarks.Header;
            var settings = benchmarks.Settings.Baggage;
            foreach (var (name, action) in new (string, Action)[]
            {
                ("parse only", () =>
                {
                    var reader = ContextMiddleware.AspNetCore.Internal.Baggage.W3CBaggage.Read(header);
                    while (reader.TryReadNext(out _))
                    {
                    }
                }),
                ("read registered", () => ContextMiddleware.AspNetCore.Internal.Baggage.BaggageReader.ReadRegistered(header, settings)),
                ("extract otel", benchmarks.ExtractOpenTelemetry),
                ("extract ours", benchmarks.ExtractRequestContext),
                ("inject otel", benchmarks.InjectOpenTelemetry),
                ("inject ours", benchmarks.InjectRequestContext),
            })
            {
                for (var round = 0; round < 8; round++)
                {
                    var watch = System.Diagnostics.Stopwatch.StartNew();
                    for (var i = 0; i < 100_000; i++)
                    {
                        action();
                    }

                    Console.WriteLine($"{name}: {watch.Elapsed.TotalMilliseconds * 10:F0} ns");
                }
            }

            return 0;
        }

        if (args is ["callprobe"])
        {
            // Allocations of the steps of one invocation's context, each measured alone.
            var services = new ServiceCollection().AddLogging().AddRequestContext().BuildServiceProvider();
            var propagator = services.GetRequiredService<ContextMiddleware.AspNetCore.IRequestContextPropagator>();
            var activity = new System.Diagnostics.Activity("probe").Start();
            System.Diagnostics.Activity.Current = null;
            var empty = ExecutionContext.Capture()!;
            static long Measure(Action action)
            {
                action();
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < 10_000; i++)
                {
                    action();
                }

                return (GC.GetAllocatedBytesForCurrentThread() - before) / 10_000;
            }

            var run = Measure(() => ExecutionContext.Run(empty, static _ => { }, null));
            Console.WriteLine($"ExecutionContext.Run: {run} B");
            Console.WriteLine($"source: {Measure(() => ProbeSource.Make())} B");
            Console.WriteLine($"BeginCall: {Measure(() => ExecutionContext.Run(empty, _ => propagator.BeginCall(ProbeSource.Shared, activity), null)) - run} B");
            Console.WriteLine($"SetMany(3): {Measure(() => ExecutionContext.Run(empty, static _ => ContextVar.SetMany(ContextMiddleware.AspNetCore.RequestContext.RequestId, "x", ContextMiddleware.AspNetCore.RequestContext.ClientRequestId, "y", ContextMiddleware.AspNetCore.RequestContext.Trace, null), null)) - run} B");
            Console.WriteLine($"FromActivity: {Measure(() => ContextMiddleware.AspNetCore.TraceContext.FromActivity(activity))} B");

            // The hub filter alone, around a hub method that returns at once.
            var filter = new ContextMiddleware.SignalR.Internal.RequestContextHubFilter(
                propagator, System.Diagnostics.DistributedContextPropagator.CreateDefaultPropagator(),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<ContextMiddleware.SignalR.Internal.RequestContextHubFilter>.Instance);
            var invocation = new Microsoft.AspNetCore.SignalR.HubInvocationContext(
                new ProbeCaller(), services, new HubInvocationBenchmarks.EchoHub(), typeof(HubInvocationBenchmarks.EchoHub).GetMethod("Echo")!, ["x"]);
            Func<Microsoft.AspNetCore.SignalR.HubInvocationContext, ValueTask<object?>> next = static _ => new ValueTask<object?>("x");
            foreach (var listened in new[] { false, true })
            {
                for (var round = 0; round < 8; round++)
                {
                    const int n = 1_000_000;
                    var watch = System.Diagnostics.Stopwatch.StartNew();
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    for (var i = 0; i < n; i++)
                    {
                        ExecutionContext.Run(empty, state =>
                        {
                            var signalR = listened ? new System.Diagnostics.Activity("Microsoft.AspNetCore.SignalR.Server.InvocationIn").Start() : null;
                            filter.InvokeMethodAsync(invocation, next).AsTask().GetAwaiter().GetResult();
                            signalR?.Stop();
                        }, null);
                    }

                    Console.WriteLine($"filter (SignalR's Activity: {listened}): {watch.Elapsed.TotalNanoseconds / n:F0} ns, {(GC.GetAllocatedBytesForCurrentThread() - before) / n} B");
                }
            }

            return 0;
        }

        if (args is ["hubprobe", var hubVariant, ..])
        {
            using var listener = new System.Diagnostics.ActivityListener
            {
                ShouldListenTo = static source => source.Name == "Microsoft.AspNetCore.SignalR.Server",
                Sample = static (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllDataAndRecorded,
            };
            if (args is [_, _, "listened"])
            {
                System.Diagnostics.ActivitySource.AddActivityListener(listener);
            }

            // The same for one hub invocation; the figures to report come from HubInvocationBenchmarks.
            using var hub = HubInvocationBenchmarks.InMemoryHub.Start(withRequestContext: hubVariant == "ours");
            await RoundsAsync(hubVariant, 100_000, hub.InvokeEchoAsync, allThreads: true);
            return 0;
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        var failed = summaries.Any(summary =>
            summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success));
        return failed ? 1 : 0;
    }

    /// <summary>
    /// Five rounds of <paramref name="n"/> calls of <paramref name="operation"/>, printing the time and bytes per call:
    /// the bytes of this thread, or of every thread (a pipeline whose work hops threads).
    /// </summary>
    private static async Task RoundsAsync(string label, int n, Func<Task> operation, bool allThreads)
    {
        for (var round = 0; round < 5; round++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var before = allThreads ? GC.GetTotalAllocatedBytes(precise: true) : GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < n; i++)
            {
                await operation();
            }

            var after = allThreads ? GC.GetTotalAllocatedBytes(precise: true) : GC.GetAllocatedBytesForCurrentThread();
            Console.WriteLine($"{label}: {watch.Elapsed.TotalNanoseconds / n:F0} ns, {(after - before) / n} B");
        }
    }
}

internal sealed class ProbeSource : ContextMiddleware.AspNetCore.IncomingCallSource
{
    public static readonly ProbeSource Shared = new();

    public override System.Net.IPAddress? RemoteAddress => null;

    public override System.Security.Claims.ClaimsPrincipal? Principal => null;

    public override Microsoft.Extensions.Primitives.StringValues GetHeader(string name) => default;

    public static object Make() => new ProbeSource();
}

internal sealed class ProbeCaller : Microsoft.AspNetCore.SignalR.HubCallerContext
{
    public override string ConnectionId => "probe-connection";

    public override string? UserIdentifier => null;

    public override System.Security.Claims.ClaimsPrincipal? User => null;

    public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

    public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features { get; } = new Microsoft.AspNetCore.Http.Features.FeatureCollection();

    public override CancellationToken ConnectionAborted => default;

    public override void Abort()
    {
    }
}
