using System.Text.Json;
using ContextMiddleware.Packages.Tests.Support;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Packages.Tests;

/// <summary>
/// The Native AOT smoke app (samples/ContextMiddleware.NativeAot: the middleware, Serilog configured in code, and every
/// package that supports Native AOT registered) published with <c>PublishAot</c> and run as a native executable: it
/// publishes without a trimming or AOT warning, serves a request on 127.0.0.1 with the caller's ids, logs a line through
/// Serilog that carries them, streams from a SignalR hub in the invocation's context, and exits 0. Needs clang and
/// zlib1g-dev (.ci/run installs them).
/// </summary>
[Collection(PackagesCollection.Name)]
public class NativeAotTests
{
    [Fact]
    public async Task TheSmokeApp_PublishesNative_ServesARequest_LogsItsIds_AndExits0()
    {
        var output = Directory.CreateTempSubdirectory("native-aot-");
        try
        {
            // Arrange
            var project = Path.Combine(Repository.Root, "samples", "ContextMiddleware.NativeAot", "ContextMiddleware.NativeAot.csproj");
            var (published, publishOutput) = await Repository.RunAsync(
                PackageFeed.Dotnet, ["publish", project, "-c", "Release", "-r", "linux-x64", "-o", output.FullName, "-nologo"], PackageFeed.Quiet, timeout: TimeSpan.FromMinutes(8));
            Assert.True(published == 0, publishOutput);
            Assert.DoesNotMatch(@"warning IL\d{4}", publishOutput);
            var executable = Path.Combine(output.FullName, "ContextMiddleware.NativeAot");
            Assert.True(File.Exists(executable), publishOutput);
            Assert.False(File.Exists(Path.Combine(output.FullName, "ContextMiddleware.NativeAot.dll")), "a JIT build was published");

            // Act
            var (exitCode, runOutput) = await Repository.RunAsync(executable, ["self-test"], timeout: TimeSpan.FromMinutes(1));

            // Assert
            Assert.True(exitCode == 0, runOutput);
            var events = runOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(line => line.StartsWith('{'))
                .Select(line => JsonDocument.Parse(line).RootElement)
                .ToList();
            var hello = Assert.Single(events, e => e.GetProperty("@mt").GetString() == "Hello from {Runtime}");
            Assert.Equal("Native AOT", hello.GetProperty("Runtime").GetString());
            Assert.Equal("aot-smoke-1", hello.GetProperty("RequestId").GetString());
            Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", hello.GetProperty("TraceId").GetString());
            Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", hello.GetProperty("@tr").GetString());
            Assert.Equal(hello.GetProperty("@sp").GetString(), hello.GetProperty("SpanId").GetString());

            // The hub's stream, enumerated by SignalR after the hub filters returned: each item in the invocation's
            // context (its X-Request-ID invocation header), through the stream wrapper made for string at run time.
            var streamed = events.Where(e => e.GetProperty("@mt").GetString() == "Streaming {Item}").ToList();
            Assert.Equal([1, 2, 3], streamed.Select(e => e.GetProperty("Item").GetInt32()));
            Assert.All(streamed, e =>
            {
                Assert.Equal("aot-hub-1", e.GetProperty("RequestId").GetString());
                Assert.Equal("SmokeHub", e.GetProperty("Hub").GetString());
                Assert.Equal("Count", e.GetProperty("HubMethod").GetString());
            });

            var summary = Assert.Single(events, e => e.GetProperty("@mt").GetString()!.StartsWith("Self-test", StringComparison.Ordinal));
            Assert.Equal("passed", summary.GetProperty("Outcome").GetString());
            Assert.Equal("1,2,3", summary.GetProperty("Items").GetString());
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }
}
