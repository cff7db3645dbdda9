using System.Text.Json;
using System.Xml.Linq;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Packages.Tests.Support;

/// <summary>
/// Every package packed once (on first use) into a local folder feed, with a version of the run's own (so that no cached package is
/// used), for the tests of the <see cref="PackagesCollection"/>; the feed and the packages restored from it are
/// removed at the end.
/// </summary>
public sealed class PackageFeed : IAsyncLifetime
{
    public static readonly string[] Packages =
    [
        "ContextMiddleware.Core", "ContextMiddleware.RequestContext", "ContextMiddleware.AspNetCore", "ContextMiddleware.Serilog",
        "ContextMiddleware.Telemetry", "ContextMiddleware.SignalR", "ContextMiddleware.Grpc", "ContextMiddleware.RabbitMQ",
        "ContextMiddleware.Hangfire",
    ];

    public static readonly Dictionary<string, string> Quiet = new()
    {
        ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        ["DOTNET_NOLOGO"] = "1",
        ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
    };

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("package-feed-");

    public static string Dotnet { get; } = Path.Combine(Repository.DotnetRoot, "dotnet");

    public string Version { get; } = $"0.1.0-local.{Guid.NewGuid():N}"[..30];

    public string Folder => Path.Combine(_work.FullName, "feed");

    private readonly Lazy<Task<(int ExitCode, string Output)>> _pack;

    public PackageFeed() => _pack = new(PackAllAsync);

    /// <summary>The versions of Directory.Packages.props, for the third-party packages a fresh project references.</summary>
    public IReadOnlyDictionary<string, string> Versions { get; } =
        XDocument.Load(Path.Combine(Repository.Root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(item => (string)item.Attribute("Include")!, item => (string)item.Attribute("Version")!);

    /// <summary>
    /// Packs every package into the feed the first time a test asks (a test that needs no feed, run alone, packs
    /// nothing); the exit code and output of the pack, for each test to assert on.
    /// </summary>
    public Task<(int ExitCode, string Output)> PackAsync() => _pack.Value;

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task<(int ExitCode, string Output)> PackAllAsync()
    {
        Directory.CreateDirectory(Folder);
        var filter = Path.Combine(_work.FullName, "packages.slnf");
        await File.WriteAllTextAsync(filter, JsonSerializer.Serialize(new
        {
            solution = new
            {
                path = Path.Combine(Repository.Root, "ContextMiddleware.sln"),
                projects = Packages.Select(name => Path.Combine("src", name, $"{name}.csproj")).ToArray(),
            },
        }));
        return await Repository.RunAsync(
            Dotnet, ["pack", filter, "-c", "Release", "-o", Folder, $"-p:Version={Version}", "-nologo"], Quiet, timeout: TimeSpan.FromMinutes(6));
    }

    /// <summary>Writes a nuget.config that reads the feed first, then nuget.org.</summary>
    public Task WriteNuGetConfigAsync(string directory) => File.WriteAllTextAsync(Path.Combine(directory, "nuget.config"), $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="local" value="{Folder}" />
            <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
          </packageSources>
        </configuration>
        """);

    public Task DisposeAsync()
    {
        _work.Delete(recursive: true);
        foreach (var name in Packages)
        {
            var cached = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages", name.ToLowerInvariant(), Version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>The tests that build from the repository in Release: one at a time, sharing one feed.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "Packages";
}
