using BenchmarkDotNet.Running;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project tests/ContextMiddleware.Benchmarks -- --filter '*'</c>.
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
            for (var round = 0; round < 5; round++)
            {
                var watch = System.Diagnostics.Stopwatch.StartNew();
                var before = GC.GetAllocatedBytesForCurrentThread();
                const int n = 200_000;
                for (var i = 0; i < n; i++)
                {
                    await server.SendAsync();
                }

                Console.WriteLine($"{which}: {watch.Elapsed.TotalNanoseconds / n:F0} ns, {(GC.GetAllocatedBytesForCurrentThread() - before) / n} B");
            }

            return 0;
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        var failed = summaries.Any(summary =>
            summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success));
        return failed ? 1 : 0;
    }
}
