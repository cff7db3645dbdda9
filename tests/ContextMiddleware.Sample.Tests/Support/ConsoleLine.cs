using System.Text.RegularExpressions;

namespace ContextMiddleware.Sample.Tests.Support;

/// <summary>
/// One line of the sample's console (<c>SampleApp.ConsoleTemplate</c>): time, level, RequestId, TraceId, UserId, message.
/// Parsing it back lets the tests check what a reader of the console sees.
/// </summary>
public sealed partial record ConsoleLine(string Level, string RequestId, string TraceId, string UserId, string Message)
{
    public static ConsoleLine Parse(string line)
    {
        var match = Pattern().Match(line);
        Assert.True(match.Success, $"Not a console line of the sample's template: {line}");
        return new ConsoleLine(
            match.Groups["level"].Value, match.Groups["request"].Value, match.Groups["trace"].Value,
            match.Groups["user"].Value, match.Groups["message"].Value);
    }

    [GeneratedRegex(@"^\d\d:\d\d:\d\d\.\d{3} (?<level>[A-Z]{3}) (?<request>\S+) +(?<trace>[0-9a-f]{32})? (?<user>\S*) +(?<message>.*)$")]
    private static partial Regex Pattern();
}
