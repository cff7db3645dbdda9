using System.Text.RegularExpressions;
using ContextMiddleware.Packages.Tests.Support;
using ContextMiddleware.Requests.Tests.Support;
using Xunit.Abstractions;

namespace ContextMiddleware.Packages.Tests;

/// <summary>
/// Second review (issue 16) of the rewritten <see cref="CodeBlock.Parse"/>: the repository's blocks against the old
/// parser's, and CommonMark cases. No feed: milliseconds. Expected values are what CommonMark (and GitHub) render.
/// </summary>
public class Issue16SecondReviewParserProbes(ITestOutputHelper output)
{
    [Fact]
    public void TheRepositorysBlocks_AreTheOldParsersBlocks_ModuloListIndentation()
    {
        var files = CodeBlock.DocumentsIn(Repository.Root).ToList();
        var now = files.SelectMany(file => CodeBlock.Parse(file, File.ReadAllText(Path.Combine(Repository.Root, file)))).ToList();
        var before = files.SelectMany(file => OldParse(file, File.ReadAllText(Path.Combine(Repository.Root, file)))).ToList();

        output.WriteLine($"new parser: {now.Count} blocks; old parser: {before.Count} blocks");
        foreach (var block in now)
        {
            output.WriteLine($"  {block.File}:{block.Line} {block.Kind} {block.Code.Split('\n').Length} lines");
        }

        Assert.Equal(before.Select(b => (b.File, b.Line, b.Kind)), now.Select(b => (b.File, b.Line, b.Kind)));
        foreach (var (old, current) in before.Zip(now))
        {
            if (old.Code != current.Code)
            {
                output.WriteLine($"code differs at {current.File}:{current.Line}:\n--- old\n{old.Code}\n--- new\n{current.Code}");
            }
        }
    }

    // A ```text block that shows a blockquoted fence: CommonMark keeps "> ```" as text (the text block is not quoted).
    [Fact]
    public void ATextBlockShowingAQuotedFence_DoesNotEndEarly()
    {
        const string Markdown = "```text\n> ```csharp\n> var a = 1;\n> ```\n```\n\nThe real one:\n\n```csharp\nvar real = 1;\n```\n";

        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Equal(["var real = 1;"], blocks.Select(b => b.Code));
    }

    // A fence inside a blockquote ends with the blockquote (CommonMark: the container closes it).
    [Fact]
    public void AQuotedFence_EndsWithItsBlockquote()
    {
        const string Markdown = "> ```csharp\n> var a = 1;\n\nText.\n\n```csharp\nvar b = 2;\n```\n";

        var blocks = Record.Exception(() => CodeBlock.Parse("docs/x.md", Markdown)) is { } error
            ? throw new Xunit.Sdk.XunitException($"threw: {error.Message}")
            : CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Equal(["var a = 1;", "var b = 2;"], blocks.Select(b => b.Code));
    }

    // A line that starts with inline code of three backticks is not a fence (a backtick fence's info has no backtick).
    [Fact]
    public void InlineTripleBackticksInProse_AreNotAFence()
    {
        const string Markdown = "```csharp``` blocks are compiled.\n\n```csharp\nvar a = 1;\n```\n";

        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Equal(["var a = 1;"], blocks.Select(b => b.Code));
    }

    // A closing fence may be indented by at most three spaces: "    ```" inside a top-level block is code.
    [Fact]
    public void AFourSpaceIndentedFenceLine_DoesNotCloseATopLevelBlock()
    {
        const string Markdown = "```csharp\nvar s = \"\"\"\n    ```\n    \"\"\";\n```\n";

        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Equal(["var s = \"\"\"\n    ```\n    \"\"\";"], blocks.Select(b => b.Code));
    }

    // What the rewrite is for; these should hold.
    [Theory]
    [InlineData("1. Step\n\n   ```csharp\n   if (a)\n   {\n       b();\n   }\n   ```\n", "if (a)\n{\n    b();\n}")]
    [InlineData("- Step\n\n  ```csharp\n  var a = 1;\n   var b = 2;\n  ```\n", "var a = 1;\n var b = 2;")]
    [InlineData("  ```csharp\n x();\n  ```\n", "x();")]
    [InlineData("> ```csharp\n> if (a)\n>     b();\n>\n> ```\n", "if (a)\n    b();\n")]
    [InlineData("~~~csharp\n```\nvar a = 1;\n~~~\n", "```\nvar a = 1;")]
    [InlineData("````csharp\nvar a = 1;\n```\nvar b = 2;\n````\n", "var a = 1;\n```\nvar b = 2;")]
    [InlineData("````markdown\n```csharp\nNOT_CODE\n```\n````\n\n```cs\nvar a = 1;\n```\n", "var a = 1;")]
    [InlineData("```csharp title=\"x.cs\"\nvar a = 1;\n```\n", "var a = 1;")]
    public void LegitimateMarkdown_IsParsedAsCommonMarkDoes(string markdown, string code)
    {
        var blocks = CodeBlock.Parse("docs/x.md", markdown);

        Assert.Equal([code], blocks.Select(b => b.Code));
    }

    // A C# line that starts with '>' in an unquoted block is not a blockquote marker.
    [Fact]
    public void AnUnquotedBlocksLineStartingWithAGreaterThan_IsKept()
    {
        const string Markdown = "```csharp\nvar ok = a\n> b;\n```\n";

        var blocks = CodeBlock.Parse("docs/x.md", Markdown);

        Assert.Equal(["var ok = a\n> b;"], blocks.Select(b => b.Code));
    }

    /// <summary>The parser before da16907, for the comparison.</summary>
    private static List<CodeBlock> OldParse(string file, string markdown)
    {
        var lines = markdown.Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Regex.Match(lines[i], @"^(\s*)(`{3,}|~{3,})\s*(\S*)");
            if (!fence.Success)
            {
                continue;
            }

            var marker = fence.Groups[2].Value;
            var end = i + 1;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith(marker, StringComparison.Ordinal))
            {
                end++;
            }

            if (fence.Groups[3].Value.ToLowerInvariant() is "csharp" or "cs" or "c#")
            {
                var comment = i > 0 ? lines[i - 1].Trim() : "";
                var kind = comment switch
                {
                    "<!-- compile: builder -->" => BlockKind.Builder,
                    "<!-- compile: app -->" => BlockKind.App,
                    _ => BlockKind.File,
                };
                blocks.Add(new CodeBlock(file, i + 2, kind, string.Join('\n', lines[(i + 1)..Math.Min(end, lines.Length)])));
            }

            i = end;
        }

        return blocks;
    }
}
