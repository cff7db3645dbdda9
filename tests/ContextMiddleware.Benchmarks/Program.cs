using BenchmarkDotNet.Running;

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

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        var failed = summaries.Any(summary =>
            summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success));
        return failed ? 1 : 0;
    }
}
