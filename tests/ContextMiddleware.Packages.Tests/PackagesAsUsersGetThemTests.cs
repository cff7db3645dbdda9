using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ContextMiddleware.Packages.Tests.Support;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Packages.Tests;

/// <summary>
/// The packages as users get them: every package packed into a local folder feed (<see cref="PackageFeed"/>), then a
/// fresh app outside the repository (no project references, no Directory.Build.props) that references two of them as
/// packages, served over Kestrel on 127.0.0.1: it answers a request and logs a line with the request's ids.
/// </summary>
[Collection(PackagesCollection.Name)]
public class PackagesAsUsersGetThemTests(PackageFeed feed)
{
    [Fact]
    public async Task EveryPackagePacks_AndAFreshAppUsingThemServesARequestAndLogsItsIds()
    {
        var dotnet = PackageFeed.Dotnet;
        var version = feed.Version;
        var work = Directory.CreateTempSubdirectory("packages-as-users-");
        try
        {
            var pack = await feed.PackAsync();
            Assert.True(pack.ExitCode == 0, pack.Output);
            Assert.Equal(
                PackageFeed.Packages.Select(name => $"{name}.{version}.nupkg").Order(),
                Directory.EnumerateFiles(feed.Folder, "*.nupkg").Select(Path.GetFileName).Order());

            // Each package's page is its own README, with its icon and its changelog.
            foreach (var name in PackageFeed.Packages)
            {
                using var package = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed.Folder, $"{name}.{version}.nupkg"));
                var readme = new StreamReader(package.GetEntry("README.md")!.Open()).ReadToEnd();
                Assert.StartsWith($"# {name}", readme, StringComparison.Ordinal);
                Assert.Contains($"dotnet add package {name}", readme, StringComparison.Ordinal);
                Assert.True(package.GetEntry("README.md")!.Length < 4096, $"{name}'s README is {package.GetEntry("README.md")!.Length} bytes");
                Assert.NotNull(package.GetEntry("icon.png"));
                Assert.NotNull(package.GetEntry("CHANGELOG.md"));

                // SourceLink: the package names the commit it was built from; its symbols are a package of their own.
                var nuspec = new StreamReader(package.GetEntry($"{name}.nuspec")!.Open()).ReadToEnd();
                Assert.Matches(@"<repository type=""git"" url=""https://github\.com/contextmiddleware/contextmiddleware\.git""[^>]* commit=""[0-9a-f]{40}""", nuspec);
                Assert.True(File.Exists(Path.Combine(feed.Folder, $"{name}.{version}.snupkg")), $"{name} has no symbols package");
            }

            // A fresh app that knows nothing of the repository.
            var app = Directory.CreateDirectory(Path.Combine(work.FullName, "app")).FullName;
            var versions = feed.Versions;
            await feed.WriteNuGetConfigAsync(app);
            await File.WriteAllTextAsync(Path.Combine(app, "FreshApp.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="ContextMiddleware.AspNetCore" Version="{version}" />
                    <PackageReference Include="ContextMiddleware.Serilog" Version="{version}" />
                    <PackageReference Include="Serilog.AspNetCore" Version="{versions["Serilog.AspNetCore"]}" />
                    <PackageReference Include="Serilog.Formatting.Compact" Version="{versions["Serilog.Formatting.Compact"]}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), """
                using ContextMiddleware.AspNetCore;
                using Serilog;
                using Serilog.Formatting.Compact;

                var builder = WebApplication.CreateBuilder(args);
                builder.Services.AddRequestContext();
                builder.Services.AddSerilog(logger => logger
                    .MinimumLevel.Information()
                    .Enrich.WithRequestContext()
                    .WriteTo.Console(new CompactJsonFormatter()));

                var app = builder.Build();
                app.UseRequestContext();
                app.MapGet("/", (ILogger<Program> logger) =>
                {
                    logger.LogInformation("Hello from the packages");
                    return RequestContext.RequestId.Get();
                });
                app.Run();
                """);
            var (built, buildOutput) = await Repository.RunAsync(dotnet, ["build", app, "-c", "Release", "-nologo"], PackageFeed.Quiet, app, TimeSpan.FromMinutes(4));
            Assert.True(built == 0, buildOutput);

            var port = FreePort();
            var start = new ProcessStartInfo(dotnet)
            {
                ArgumentList = { Path.Combine(app, "bin", "Release", "net10.0", "FreshApp.dll"), "--urls", $"http://127.0.0.1:{port}" },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = app,
            };
            using var process = Process.Start(start)!;
            var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
            process.OutputDataReceived += (_, line) =>
            {
                if (line.Data is not null)
                {
                    lines.Enqueue(line.Data);
                }
            };
            process.BeginOutputReadLine();
            try
            {
                using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
                var request = new HttpRequestMessage(HttpMethod.Get, "/");
                request.Headers.Add("X-Request-ID", "from-packages-1");
                string? body = null;
                for (var attempt = 0; attempt < 100 && body is null; attempt++)
                {
                    try
                    {
                        using var response = await client.SendAsync(request);
                        body = await response.Content.ReadAsStringAsync();
                    }
                    catch (HttpRequestException)
                    {
                        await Task.Delay(200); // still starting
                        request = new HttpRequestMessage(HttpMethod.Get, "/");
                        request.Headers.Add("X-Request-ID", "from-packages-1");
                    }
                }

                Assert.Equal("from-packages-1", body);
                for (var wait = 0; wait < 100 && !lines.Any(line => line.Contains("Hello from the packages", StringComparison.Ordinal)); wait++)
                {
                    await Task.Delay(100);
                }

                using var logged = JsonDocument.Parse(lines.First(line => line.Contains("Hello from the packages", StringComparison.Ordinal)));
                Assert.Equal("from-packages-1", logged.RootElement.GetProperty("RequestId").GetString());
                Assert.Matches("^[0-9a-f]{32}$", logged.RootElement.GetProperty("TraceId").GetString()!);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
