using System.Xml.Linq;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Requests.Tests;

/// <summary>How the packages are built: from any folder, and never reading each other's internals.</summary>
public class PackagingTests
{
    [Fact]
    public void Packages_GrantTheirInternalsToTheirTestsAndBenchmarksOnly()
    {
        var grants = Directory.EnumerateFiles(Path.Combine(Repository.Root, "src"), "*.csproj", SearchOption.AllDirectories)
            .SelectMany(project => XDocument.Load(project).Descendants("InternalsVisibleTo")
                .Select(grant => (Project: Path.GetFileNameWithoutExtension(project), To: (string)grant.Attribute("Include")!)))
            .ToList();

        Assert.NotEmpty(grants);
        Assert.All(grants, grant => Assert.True(
            grant.To == $"{grant.Project}.Tests" || grant.To == "ContextMiddleware.Benchmarks",
            $"{grant.Project} shows its internals to {grant.To}"));
    }

    [Fact]
    public async Task IsPackable_DoesNotDependOnWhereTheCloneLives()
    {
        // A clone inside a folder named src: the layout of many CI agents.
        var parent = Directory.CreateTempSubdirectory("clone-");
        try
        {
            var clone = Path.Combine(parent.FullName, "src", "repo");
            Directory.CreateDirectory(Path.GetDirectoryName(clone)!);
            Directory.CreateSymbolicLink(clone, Repository.Root);

            Assert.Equal("true", await IsPackableAsync(Path.Combine(clone, "src", "ContextMiddleware.Core", "ContextMiddleware.Core.csproj")));
            Assert.Equal("false", await IsPackableAsync(Path.Combine(clone, "tests", "ContextMiddleware.Testing", "ContextMiddleware.Testing.csproj")));
            Assert.Equal("false", await IsPackableAsync(Path.Combine(clone, "samples", "ContextMiddleware.Sample", "ContextMiddleware.Sample.csproj")));
        }
        finally
        {
            parent.Delete(recursive: true);
        }
    }

    private static async Task<string> IsPackableAsync(string project)
    {
        var (exitCode, output) = await Repository.RunAsync(
            Path.Combine(Repository.DotnetRoot, "dotnet"), ["msbuild", project, "-getProperty:IsPackable", "-nologo"],
            new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });
        Assert.True(exitCode == 0, output);
        return output.Trim();
    }
}
