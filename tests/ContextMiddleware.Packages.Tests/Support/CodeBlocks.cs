using System.Text;
using System.Text.RegularExpressions;

namespace ContextMiddleware.Packages.Tests.Support;

/// <summary>How a C# block of the docs is compiled, from the HTML comment on the line before its fence.</summary>
public enum BlockKind
{
    /// <summary>No comment: the block is one whole file (top-level statements, types, or both).</summary>
    File,

    /// <summary><c>&lt;!-- compile: builder --&gt;</c>: statements after <c>var builder = WebApplication.CreateBuilder(args);</c>.</summary>
    Builder,

    /// <summary><c>&lt;!-- compile: app --&gt;</c>: statements after <c>var app = builder.Build();</c>.</summary>
    App,
}

/// <summary>One <c>```csharp</c> block of a Markdown file: where it is, how it is compiled, its code.</summary>
public sealed record CodeBlock(string File, int Line, BlockKind Kind, string Code)
{
    private static readonly string[] TopLevelDocuments = ["README.md", "benchmarks/README.md"];

    /// <summary>The Markdown files whose C# blocks are compiled, relative to the repository.</summary>
    public static IEnumerable<string> DocumentsIn(string root) =>
        TopLevelDocuments
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories).Select(path => Path.GetRelativePath(root, path)))
            .Concat(Directory.EnumerateDirectories(Path.Combine(root, "src")).Concat(Directory.EnumerateDirectories(Path.Combine(root, "samples")))
                .Select(directory => Path.Combine(directory, "README.md")).Where(System.IO.File.Exists).Select(path => Path.GetRelativePath(root, path)))
            .Select(path => path.Replace('\\', '/'))
            .Where(path => System.IO.File.Exists(Path.Combine(root, path)))
            .Order(StringComparer.Ordinal);

    /// <summary>
    /// The C# blocks of one Markdown file (its path relative to the repository, its text), found as CommonMark finds
    /// fenced code: at any indentation (list items), inside blockquotes (<c>&gt;</c>), closed only by a bare fence of the
    /// same character at least as long; an unclosed fence is an error, not a block silently lost.
    /// </summary>
    public static IReadOnlyList<CodeBlock> Parse(string file, string markdown)
    {
        var lines = markdown.Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var (depth, content) = Unquote(lines[i], int.MaxValue);
            var fence = Regex.Match(content, @"^(?<indent> {0,3}|\s*)(?<fence>`{3,}|~{3,})(?<rest>.*)$");
            // An info string after backticks holds no backtick (else it is inline code: "```csharp``` blocks").
            if (!fence.Success || (fence.Groups["fence"].Value[0] == '`' && fence.Groups["rest"].Value.Contains('`', StringComparison.Ordinal)))
            {
                continue;
            }

            var marker = fence.Groups["fence"].Value;
            var indent = fence.Groups["indent"].Length;
            var info = fence.Groups["rest"].Value.Trim().Split(' ', 2)[0];
            var code = new List<string>();
            var end = i + 1;
            for (; end < lines.Length; end++)
            {
                // The block lives in its container: as many quote markers as its fence had, or it ends with the quote.
                var (lineDepth, inner) = Unquote(lines[end], depth);
                if (lineDepth < depth)
                {
                    break;
                }

                // A closing fence: the same character, at least as long, no info string, indented at most 3 spaces
                // past the fence's own indentation.
                if (Regex.IsMatch(inner, $@"^ {{0,{indent + 3}}}{Regex.Escape(marker[0].ToString())}{{{marker.Length},}}\s*$"))
                {
                    break;
                }

                // The fence's indentation (a list item's) is not part of the code.
                code.Add(inner.Length - inner.TrimStart(' ').Length >= indent ? inner[indent..] : inner.TrimStart(' '));
            }

            var closed = end < lines.Length && Unquote(lines[end], depth).Depth == depth;
            if (!closed && depth == 0)
            {
                throw new InvalidOperationException($"{file}:{i + 1}: the fence {marker} is never closed");
            }

            if (info.ToLowerInvariant() is "csharp" or "cs" or "c#")
            {
                var comment = i > 0 ? Unquote(lines[i - 1], depth).Content.Trim() : "";
                var kind = comment switch
                {
                    "<!-- compile: builder -->" => BlockKind.Builder,
                    "<!-- compile: app -->" => BlockKind.App,
                    _ when comment.StartsWith("<!-- compile", StringComparison.Ordinal) =>
                        throw new InvalidOperationException($"{file}:{i}: unknown marker {comment} (builder or app)"),
                    _ => BlockKind.File,
                };
                blocks.Add(new CodeBlock(file, i + 2, kind, string.Join('\n', code)));
            }

            // A quoted block that ended with its quote: go on from the line that ended it.
            i = closed ? end : end - 1;
        }

        return blocks;
    }

    /// <summary>Removes up to <paramref name="most"/> blockquote markers; how many were removed, and the rest.</summary>
    private static (int Depth, string Content) Unquote(string line, int most)
    {
        var depth = 0;
        var content = line;
        while (depth < most && Regex.Match(content, "^ {0,3}> ?") is { Success: true } marker)
        {
            content = content[marker.Length..];
            depth++;
        }

        return (depth, content);
    }

    /// <summary>A short name for the block's project folder.</summary>
    public string Name =>
        $"{Regex.Replace(File, "[^A-Za-z0-9]+", "_")}_{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(File)))[..6]}_L{Line}";

    /// <summary>
    /// The block as a C# file: <c>#line</c> directives point every error at the Markdown file and line; a fragment is
    /// placed in its Program.cs, its leading <c>using</c> lines hoisted.
    /// </summary>
    public string ToSource(string repositoryRoot)
    {
        var path = Path.Combine(repositoryRoot, File).Replace('\\', '/');
        var text = new StringBuilder();
        if (Kind == BlockKind.File)
        {
            text.Append($"#line {Line} \"{path}\"\n").Append(Code).Append('\n');
            return text.ToString();
        }

        var lines = Code.Split('\n');
        var usings = lines.TakeWhile(line => line.StartsWith("using ", StringComparison.Ordinal) || line.Trim().Length == 0).Count();
        text.Append($"#line {Line} \"{path}\"\n");
        foreach (var line in lines[..usings])
        {
            text.Append(line).Append('\n');
        }

        text.Append("#line hidden\n").Append("var builder = WebApplication.CreateBuilder(args);\n");
        if (Kind == BlockKind.App)
        {
            text.Append("var app = builder.Build();\n");
        }

        text.Append($"#line {Line + usings} \"{path}\"\n");
        foreach (var line in lines[usings..])
        {
            text.Append(line).Append('\n');
        }

        text.Append("#line hidden\n").Append(Kind == BlockKind.App ? "app.Run();\n" : "builder.Build().Run();\n");
        return text.ToString();
    }
}
