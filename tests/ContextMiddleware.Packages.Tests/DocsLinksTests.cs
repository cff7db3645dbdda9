using System.Text.RegularExpressions;
using ContextMiddleware.Packages.Tests.Support;
using ContextMiddleware.Requests.Tests.Support;

namespace ContextMiddleware.Packages.Tests;

/// <summary>
/// The docs refer only to what the repository holds: every link of the README, docs/, the packages' READMEs and
/// changelogs, the samples' READMEs and benchmarks/README.md, relative or to this repository on GitHub (the form the
/// package pages use), names a file that exists, and an anchor names one of its headings.
/// </summary>
public partial class DocsLinksTests
{
    private const string GitHubPrefix = "https://github.com/contextmiddleware/contextmiddleware/blob/main/";

    public static TheoryData<string> Documents() => [.. CodeBlock.DocumentsIn(Repository.Root).Concat(
        Directory.EnumerateFiles(Path.Combine(Repository.Root, "src"), "CHANGELOG.md", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(Repository.Root, path).Replace('\\', '/')))];

    [Theory]
    [MemberData(nameof(Documents))]
    public void EveryLink_NamesAFileAndHeadingTheRepositoryHolds(string document)
    {
        var text = WithoutCode(File.ReadAllText(Path.Combine(Repository.Root, document)));
        var broken = new List<string>();
        foreach (var target in Link().Matches(text).Select(match => match.Groups[1].Value))
        {
            string? path;
            if (target.StartsWith(GitHubPrefix, StringComparison.Ordinal))
            {
                path = Path.Combine(Repository.Root, target[GitHubPrefix.Length..]);
            }
            else if (target.StartsWith('#'))
            {
                path = Path.Combine(Repository.Root, document) + target;
            }
            else if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
            {
                continue; // another site
            }
            else
            {
                path = Path.Combine(Path.GetDirectoryName(Path.Combine(Repository.Root, document))!, target);
            }

            var anchor = path.Contains('#', StringComparison.Ordinal) ? path[(path.IndexOf('#', StringComparison.Ordinal) + 1)..] : null;
            var file = Path.GetFullPath(anchor is null ? path : path[..path.IndexOf('#', StringComparison.Ordinal)]);
            if (!File.Exists(file) && !Directory.Exists(file))
            {
                broken.Add($"{target}: no such file");
            }
            else if (anchor is not null && file.EndsWith(".md", StringComparison.Ordinal) && !Anchors(File.ReadAllText(file)).Contains(anchor))
            {
                broken.Add($"{target}: no such heading in {Path.GetRelativePath(Repository.Root, file)}");
            }
        }

        Assert.True(broken.Count == 0, $"{document}:\n{string.Join('\n', broken)}");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void NoDocument_CitesTheTutorialTheRepositoryDoesNotHold(string document)
    {
        var text = File.ReadAllText(Path.Combine(Repository.Root, document));
        Assert.DoesNotMatch(new Regex(@"\bthe guide\b|guide's", RegexOptions.IgnoreCase), text);
    }

    /// <summary>The anchors GitHub gives a Markdown file's headings.</summary>
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var heading in Heading().Matches(WithoutCode(markdown)).Select(match => match.Groups[1].Value.Trim()))
        {
            var slug = Regex.Replace(heading.ToLowerInvariant().Replace("`", "", StringComparison.Ordinal), @"[^\p{L}\p{N} _-]", "").Replace(' ', '-');
            var unique = slug;
            for (var n = 1; !anchors.Add(unique); n++)
            {
                unique = $"{slug}-{n}";
            }
        }

        return anchors;
    }

    private static string WithoutCode(string markdown) => Regex.Replace(markdown, @"^(```|~~~).*?^\1", "", RegexOptions.Singleline | RegexOptions.Multiline);

    [GeneratedRegex(@"\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$", RegexOptions.Multiline)]
    private static partial Regex Heading();
}
