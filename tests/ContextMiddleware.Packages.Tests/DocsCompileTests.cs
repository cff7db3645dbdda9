using System.Text;
using System.Text.RegularExpressions;
using ContextMiddleware.Packages.Tests.Support;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Packages.Tests;

/// <summary>
/// Every <c>```csharp</c> block of the README, docs/, the packages' and samples' READMEs and benchmarks/README.md is
/// compiled as a user would paste it: a project of its own (the Web SDK, implicit usings, nullable) referencing the
/// packages from the folder feed and the third-party packages the docs name. A block is one whole file unless the line
/// before its fence says <c>&lt;!-- compile: builder --&gt;</c> or <c>&lt;!-- compile: app --&gt;</c> (see
/// <see cref="BlockKind"/>). Errors are reported at the Markdown file and line.
/// </summary>
[Collection(PackagesCollection.Name)]
public partial class DocsCompileTests(PackageFeed feed)
{
    /// <summary>The packages besides ours that the docs' blocks use.</summary>
    private static readonly string[] ThirdParty =
    [
        "Serilog.AspNetCore", "Serilog.Sinks.Console", "Serilog.Formatting.Compact", "Grpc.AspNetCore", "RabbitMQ.Client",
        "Hangfire.Core", "Hangfire.AspNetCore", "Hangfire.PostgreSql", "Microsoft.AspNetCore.Authentication.JwtBearer",
        "OpenTelemetry.Extensions.Hosting", "Microsoft.Extensions.Telemetry",
    ];

    [Fact]
    public void Blocks_AreFoundWithTheirKindAndLine()
    {
        // Arrange
        const string Markdown = "# Title\n\n```csharp\nvar a = 1;\n```\n\n<!-- compile: builder -->\n```csharp\nusing Serilog;\nbuilder.Services.AddSerilog();\n```\n\n```text\nnot code\n```\n<!-- compile: app -->\n~~~cs\napp.MapGet(\"/\", () => 1);\n~~~\n";

        // Act
        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        // Assert
        Assert.Equal(
            [("docs/x.md", 4, BlockKind.File, "var a = 1;"), ("docs/x.md", 9, BlockKind.Builder, "using Serilog;\nbuilder.Services.AddSerilog();"), ("docs/x.md", 18, BlockKind.App, "app.MapGet(\"/\", () => 1);")],
            blocks.Select(block => (block.File, block.Line, block.Kind, block.Code)));
        Assert.Contains("var builder = WebApplication.CreateBuilder(args);", blocks[1].ToSource("/repo"), StringComparison.Ordinal);
        Assert.StartsWith("#line 9 \"/repo/docs/x.md\"\nusing Serilog;\n#line hidden\n", blocks[1].ToSource("/repo"), StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownMarker_IsAnError_NotAWholeFile()
    {
        var error = Assert.Throws<InvalidOperationException>(() => CodeBlock.Parse("README.md", "<!-- compile: program -->\n```csharp\nvar a = 1;\n```\n"));
        Assert.Contains("README.md", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryCSharpBlockOfTheReadmeAndDocs_CompilesAgainstThePackages()
    {
        // Arrange: one project per block, and a canary block that must fail where it is written.
        Assert.True(feed.Pack.ExitCode == 0, feed.Pack.Output);
        var blocks = CodeBlock.DocumentsIn(Repository.Root)
            .SelectMany(file => CodeBlock.Parse(file, File.ReadAllText(Path.Combine(Repository.Root, file))))
            .ToList();
        Assert.True(blocks.Count >= 20, $"only {blocks.Count} C# blocks found");
        Assert.Contains(blocks, block => block.File == "README.md");
        var canary = new CodeBlock("docs/canary.md", 7, BlockKind.App, "app.MapGet(\"/\", () => NoSuchThing);");

        var work = Directory.CreateTempSubdirectory("docs-blocks-");
        try
        {
            await feed.WriteNuGetConfigAsync(work.FullName);
            var references = PackageFeed.Packages.Select(name => (name, feed.Version))
                .Concat(ThirdParty.Select(name => (name, feed.Versions[name])))
                .Select(package => $"""    <PackageReference Include="{package.name}" Version="{package.Item2}" />""");
            var projects = new List<string>();
            foreach (var block in blocks.Append(canary))
            {
                var directory = Directory.CreateDirectory(Path.Combine(work.FullName, block.Name)).FullName;
                await File.WriteAllTextAsync(Path.Combine(directory, $"{block.Name}.csproj"), $"""
                    <Project Sdk="Microsoft.NET.Sdk.Web">
                      <PropertyGroup>
                        <TargetFramework>net10.0</TargetFramework>
                        <Nullable>enable</Nullable>
                        <ImplicitUsings>enable</ImplicitUsings>
                        <NoWarn>$(NoWarn);CS7022;NU1603;NU1901;NU1902;NU1903;NU1904</NoWarn>
                      </PropertyGroup>
                      <ItemGroup>
                    {string.Join('\n', references)}
                      </ItemGroup>
                    </Project>
                    """);
                await File.WriteAllTextAsync(Path.Combine(directory, "Program.cs"), block.ToSource(Repository.Root));
                // The entry point of a block that declares types only (a block with statements has its own: CS7022).
                await File.WriteAllTextAsync(Path.Combine(directory, "Entry.cs"), "internal static class DocsBlockEntry { private static void Main() { } }\n");
                projects.Add($"""  <Project Path="{block.Name}/{block.Name}.csproj" />""");
            }

            var solution = Path.Combine(work.FullName, "Blocks.slnx");
            await File.WriteAllTextAsync(solution, $"<Solution>\n{string.Join('\n', projects)}\n</Solution>\n");

            // Act
            var (_, output) = await Repository.RunAsync(
                PackageFeed.Dotnet, ["build", solution, "-c", "Release", "-nologo", "-clp:NoSummary"], PackageFeed.Quiet, work.FullName, TimeSpan.FromMinutes(8));

            // Assert: the canary's error at its line, and no other.
            var errors = ErrorLine().Matches(output).Select(match => match.Value.Trim()).Distinct().ToList();
            var canaryPath = Path.Combine(Repository.Root, canary.File).Replace('\\', '/');
            Assert.Contains(errors, error => error.StartsWith($"{canaryPath}({canary.Line},", StringComparison.Ordinal) && error.Contains("CS0103", StringComparison.Ordinal));
            var failures = errors.Where(error => !error.StartsWith(canaryPath, StringComparison.Ordinal)).ToList();
            Assert.True(failures.Count == 0, $"{failures.Count} errors in {blocks.Count} C# blocks:\n{string.Join('\n', failures)}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    [GeneratedRegex(@"^[^\n]*: error [A-Z]+\d+: [^\n]*$", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();
}
