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
        var pack = await feed.PackAsync();
        Assert.True(pack.ExitCode == 0, pack.Output);
        var blocks = CodeBlock.DocumentsIn(Repository.Root)
            .SelectMany(file => CodeBlock.Parse(file, File.ReadAllText(Path.Combine(Repository.Root, file))))
            .ToList();
        Assert.True(blocks.Count >= 20, $"only {blocks.Count} C# blocks found");
        Assert.Contains(blocks, block => block.File == "README.md");
        // A canary of each kind that must fail where it is written: the harness compiles and reports what it should.
        var canaries = new[]
        {
            new CodeBlock("docs/canary.md", 3, BlockKind.File, "using ContextMiddleware.AspNetCore;\n\nvar id = RequestContext.NoSuchMember;"),
            new CodeBlock("docs/canary.md", 12, BlockKind.Builder, "using Serilog;\n\nbuilder.Services.AddRequestContext();\nstring text = null;"),
            new CodeBlock("docs/canary.md", 20, BlockKind.App, "app.MapGet(\"/\", () => NoSuchThing);"),
        };

        var work = Directory.CreateTempSubdirectory("docs-blocks-");
        try
        {
            await feed.WriteNuGetConfigAsync(work.FullName);
            var docs = await WriteSolutionAsync(work.FullName, "Blocks", blocks);
            var canarySolution = await WriteSolutionAsync(work.FullName, "Canaries", canaries);

            // Act
            var canaryRun = await Repository.RunAsync(
                PackageFeed.Dotnet, ["build", canarySolution, "-c", "Release", "-nologo", "-clp:NoSummary"], PackageFeed.Quiet, work.FullName, TimeSpan.FromMinutes(4));
            var docsRun = await Repository.RunAsync(
                PackageFeed.Dotnet, ["build", docs, "-c", "Release", "-nologo", "-clp:NoSummary"], PackageFeed.Quiet, work.FullName, TimeSpan.FromMinutes(8));

            // Assert: each canary fails at its own Markdown line (an error, a nullable warning made an error, an error
            // after the hoisted usings), and the docs' blocks build with no error at all.
            var canaryPath = Path.Combine(Repository.Root, "docs/canary.md").Replace('\\', '/');
            var canaryErrors = Errors(canaryRun.Output);
            Assert.NotEqual(0, canaryRun.ExitCode);
            Assert.Contains(canaryErrors, error => error.StartsWith($"{canaryPath}(5,", StringComparison.Ordinal) && error.Contains("CS0117", StringComparison.Ordinal));
            Assert.Contains(canaryErrors, error => error.StartsWith($"{canaryPath}(15,", StringComparison.Ordinal) && error.Contains("CS8600", StringComparison.Ordinal));
            Assert.Contains(canaryErrors, error => error.StartsWith($"{canaryPath}(20,", StringComparison.Ordinal) && error.Contains("CS0103", StringComparison.Ordinal));
            var errors = Errors(docsRun.Output);
            Assert.True(docsRun.ExitCode == 0 && errors.Count == 0, $"{errors.Count} errors in {blocks.Count} C# blocks (exit {docsRun.ExitCode}):\n{string.Join('\n', errors)}\n{(errors.Count == 0 ? docsRun.Output : "")}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>One project per block (as a user would paste it: warnings are errors), and a solution of them.</summary>
    private async Task<string> WriteSolutionAsync(string work, string name, IEnumerable<CodeBlock> blocks)
    {
        var references = PackageFeed.Packages.Select(package => (Name: package, Version: feed.Version))
            .Concat(ThirdParty.Select(package => (Name: package, Version: feed.Versions[package])))
            .Select(package => $"""    <PackageReference Include="{package.Name}" Version="{package.Version}" />""");
        var projects = new List<string>();
        foreach (var block in blocks)
        {
            var directory = Directory.CreateDirectory(Path.Combine(work, name, block.Name)).FullName;
            await File.WriteAllTextAsync(Path.Combine(directory, $"{block.Name}.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk.Web">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <!-- CS7022: the hidden entry point of a block with statements; NU19xx: the audit of third-party packages. -->
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
            projects.Add($"""  <Project Path="{name}/{block.Name}/{block.Name}.csproj" />""");
        }

        var solution = Path.Combine(work, $"{name}.slnx");
        await File.WriteAllTextAsync(solution, $"<Solution>\n{string.Join('\n', projects)}\n</Solution>\n");
        return solution;
    }

    /// <summary>Every error line of a build's output, with or without a code (an MSBuild task's "error :" too).</summary>
    private static List<string> Errors(string output) =>
        ErrorLine().Matches(output).Select(match => match.Value.Trim()).Distinct().ToList();

    [GeneratedRegex(@"^[^\n]*\berror\b( [A-Z]+\d+)?\s*:[^\n]*$", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();
}
