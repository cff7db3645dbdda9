using BenchmarkDotNet.Running;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// Runs the benchmarks: <c>dotnet run -c Release --project tests/ContextMiddleware.Benchmarks -- --filter '*'</c>.
/// Exits non-zero when any benchmark fails, so a smoke run (<c>--job dry</c>) can gate a build.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        var failed = summaries.Any(summary =>
            summary.HasCriticalValidationErrors || summary.Reports.Any(report => !report.Success));
        return failed ? 1 : 0;
    }
}
