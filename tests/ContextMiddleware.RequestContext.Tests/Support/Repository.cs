using System.Diagnostics;
using System.Reflection;

namespace ContextMiddleware.Requests.Tests.Support;

/// <summary>Paths of the repository and its builds, and processes run from them.</summary>
public static class Repository
{
    public static string Root { get; } = Path.GetFullPath(Metadata("RepositoryRoot"));

    /// <summary>The worker app next to the tests (only in the projects that build it).</summary>
    public static string WorkerApp => Path.GetFullPath(Metadata("WorkerApp"));

    /// <summary>The .NET installation running the tests.</summary>
    public static string DotnetRoot { get; } =
        Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root ? root : Path.GetDirectoryName(Environment.ProcessPath)!;

    /// <summary>Runs a process to its end (bounded by <paramref name="timeout"/>) and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Root,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancellation = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} did not finish in time: {await output}{await error}");
        }

        return (process.ExitCode, await output + await error);
    }

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(attribute => attribute.Key == key).Value!;
}
