using System.Text.Json;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Requests.Tests;

/// <summary>
/// A worker without ASP.NET Core (Microsoft.NET.Sdk.Worker, on a .NET runtime without the ASP.NET Core shared
/// framework) extracts a message's context, runs in it, and writes Serilog events that carry its ids.
/// </summary>
public class WorkerTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

    [Fact]
    public void WorkerApp_NeedsOnlyTheBaseRuntime()
    {
        var runtimeConfig = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(Repository.WorkerApp, ".runtimeconfig.json")));

        var options = runtimeConfig.RootElement.GetProperty("runtimeOptions");
        var frameworks = options.TryGetProperty("frameworks", out var list)
            ? list.EnumerateArray().Select(framework => framework.GetProperty("name").GetString()!).ToArray()
            : [options.GetProperty("framework").GetProperty("name").GetString()!];
        Assert.Equal(["Microsoft.NETCore.App"], frameworks);
    }

    [Fact]
    public async Task WorkerApp_OnARuntimeWithoutAspNetCore_LogsItsMessageWithTheMessagesIds()
    {
        var root = BaseRuntimeOnly();
        try
        {
            var environment = new Dictionary<string, string> { ["DOTNET_ROOT"] = root, ["DOTNET_MULTILEVEL_LOOKUP"] = "0" };
            var (_, runtimes) = await Repository.RunAsync(Path.Combine(root, "dotnet"), ["--list-runtimes"], environment);
            Assert.DoesNotContain("Microsoft.AspNetCore.App", runtimes, StringComparison.Ordinal);

            var (exitCode, output) = await Repository.RunAsync(
                Path.Combine(root, "dotnet"),
                [Repository.WorkerApp, "--header", "X-Request-ID=req-worker", "--header", $"traceparent=00-{TraceId}-00f067aa0ba902b7-01"],
                environment,
                workingDirectory: Path.GetDirectoryName(Repository.WorkerApp));

            Assert.True(exitCode == 0, output);
            Assert.Contains($"req-worker {TraceId} Handled the message", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>A .NET root holding the host and the base runtime of the running installation, and nothing else.</summary>
    private static string BaseRuntimeOnly()
    {
        var root = Directory.CreateTempSubdirectory("netcore-only-").FullName;
        // The muxer finds its runtimes next to its own real path, so it is copied; the rest may be links.
        File.Copy(Path.Combine(Repository.DotnetRoot, "dotnet"), Path.Combine(root, "dotnet"));
        Directory.CreateSymbolicLink(Path.Combine(root, "host"), Path.Combine(Repository.DotnetRoot, "host"));
        Directory.CreateDirectory(Path.Combine(root, "shared"));
        Directory.CreateSymbolicLink(
            Path.Combine(root, "shared", "Microsoft.NETCore.App"), Path.Combine(Repository.DotnetRoot, "shared", "Microsoft.NETCore.App"));
        return root;
    }
}
