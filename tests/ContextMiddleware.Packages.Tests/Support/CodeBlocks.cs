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
            var (_, content) = Unquote(lines[i]);
            var fence = Regex.Match(content, @"^(?<indent> *)(?<fence>`{3,}|~{3,})\s*(?<info>[^\s`]*)");
            if (!fence.Success)
            {
                continue;
            }

            var marker = fence.Groups["fence"].Value;
            var indent = fence.Groups["indent"].Length;
            var code = new List<string>();
            var end = i + 1;
            for (; end < lines.Length; end++)
            {
                var (_, inner) = Unquote(lines[end]);
                if (Regex.IsMatch(inner, $@"^ *{Regex.Escape(marker[0].ToString())}{{{marker.Length},}}\s*$"))
                {
                    break;
                }

                // The fence's indentation (a list item's) and the blockquote markers are not part of the code.
                code.Add(inner.Length - inner.TrimStart(' ').Length >= indent ? inner[indent..] : inner.TrimStart(' '));
            }

            if (end == lines.Length)
            {
                throw new InvalidOperationException($"{file}:{i + 1}: the fence {marker} is never closed");
            }

            if (fence.Groups["info"].Value.ToLowerInvariant() is "csharp" or "cs" or "c#")
            {
                var comment = i > 0 ? Unquote(lines[i - 1]).Content.Trim() : "";
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

            i = end;
        }

        return blocks;
    }

    private static (bool Quoted, string Content) Unquote(string line)
    {
        var match = Regex.Match(line, @"^(?: {0,3}> ?)+");
        return match.Success ? (true, line[match.Length..]) : (false, line);
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
