using ContextMiddleware.Packages.Tests.Support;

namespace ContextMiddleware.Packages.Tests;

/// <summary>
/// Review probes (issue 16) for <see cref="CodeBlock.Parse"/>: C# blocks that a reader sees but the docs test would not
/// compile. No feed: these run in milliseconds. Each failed before the parser was made to follow CommonMark.
/// </summary>
public class Issue16ReviewProbes
{
    [Fact]
    public void ACSharpBlockInABlockquote_IsFound()
    {
        const string Markdown = "# T\n\n> **Note**\n>\n> ```csharp\n> var a = NoSuchThing;\n> ```\n";

        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Single(blocks); // failed before the fix: 0 (silently skipped)
    }

    [Fact]
    public void AFenceLineWithAnInfoString_DoesNotCloseTheBlock()
    {
        // CommonMark: a closing fence has no info string, so "```csharp" inside a ```text block is text, and the C#
        // block after the text block is a block of its own. The parser closes the text block at "```csharp", then takes
        // the text block's closing fence for an opening one, and loses the real C# block that follows.
        const string Markdown = "```text\nhow to write a doc block:\n```csharp\n```\n\nThe real one:\n\n```csharp\nvar a = NoSuchThing;\n```\n";

        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Contains(blocks, block => block.Code == "var a = NoSuchThing;"); // failed before the fix: the real block was skipped
    }

    [Fact]
    public async Task EveryMarkdownFileOfTheRepository_IsScanned()
    {
        // The README and docs set is a fixed list of places: a doc anywhere else (CONTRIBUTING.md, docs in a sample's
        // subfolder, a test project's README) would be neither compiled nor link-checked. The files git tracks.
        var root = ContextMiddleware.Requests.Tests.Support.Repository.Root;
        var scanned = CodeBlock.DocumentsIn(root).ToHashSet();
        var (exitCode, output) = await ContextMiddleware.Requests.Tests.Support.Repository.RunAsync("git", ["ls-files", "*.md"]);
        Assert.True(exitCode == 0, output);
        var all = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(path => !path.EndsWith("CHANGELOG.md", StringComparison.Ordinal));

        var missing = all.Where(path => !scanned.Contains(path)).ToList();
        Assert.True(missing.Count == 0, string.Join(", ", missing));
    }
}
