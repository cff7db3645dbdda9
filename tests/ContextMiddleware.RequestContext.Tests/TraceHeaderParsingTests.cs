using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Tracing;

namespace ContextMiddleware.Requests.Tests;

/// <summary>
/// The W3C Trace Context parser: the recommendation's own examples first, then property tests against a regular
/// expression transcription of the recommendation's grammar.
/// </summary>
public class TraceHeaderParsingTests
{
    [Fact]
    public void TraceParent_ExampleFromTheRecommendation_Parses()
    {
        Assert.True(TraceParent.TryParse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", out var parent));

        Assert.Equal("0af7651916cd43dd8448eb211c80319c", parent.TraceId.ToHexString());
        Assert.Equal("b7ad6b7169203331", parent.ParentSpanId.ToHexString());
        Assert.True(parent.Sampled);
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", parent.ToString());
    }

    [Theory]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", true)] // not sampled
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", true)] // sampled + random (Level 2)
    [InlineData("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", true)] // future version, exact length
    [InlineData("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-be-like", true)]
    [InlineData("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what", false)] // future: 56th char not '-'
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", false)] // version 00: trailing field
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", false)]
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false)] // version ff
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01", false)] // all-zero trace id
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false)] // all-zero parent id
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false)] // upper-case hex
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", false)]
    [InlineData("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false)]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false)] // short trace id
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", false)] // short parent id
    [InlineData("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", false)] // wrong delimiter
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", false)] // non-hex flags
    [InlineData("", false)]
    public void TraceParent_Rules(string value, bool valid)
    {
        Assert.Equal(valid, TraceParent.TryParse(value, out _));
    }

    [Fact]
    public void TraceParent_FutureVersion_IsReEmittedAsVersion00()
    {
        Assert.True(TraceParent.TryParse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-extra", out var parent));

        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", parent.ToString());
    }

    [Fact]
    public void TraceParent_RoundTrip_OfRandomValidHeaders()
    {
        var random = new Random(567);
        for (var i = 0; i < 2_000; i++)
        {
            var traceId = ActivityTraceIdHex(random, 32);
            var spanId = ActivityTraceIdHex(random, 16);
            var header = $"00-{traceId}-{spanId}-{random.Next(256):x2}";
            if (traceId.All(c => c == '0') || spanId.All(c => c == '0'))
            {
                continue;
            }

            Assert.True(TraceParent.TryParse(header, out var parent), header);
            Assert.Equal(header, parent.ToString());
        }
    }

    [Theory]
    [InlineData("congo=t61rcWkgMzE", true)]
    [InlineData("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", true)] // the recommendation's example
    [InlineData("rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE\t", true)] // spaces and tabs trimmed
    [InlineData("rojo=1,,congo=2,", true)] // empty members allowed
    [InlineData("fw529a3039@dt=1", true)] // multi-tenant key
    [InlineData("1key=value", true)] // leading digit (Level 2)
    [InlineData("Key=value", false)] // upper-case key
    [InlineData("key=", false)] // empty value
    [InlineData("key=value ", true)] // trailing space is OWS and trimmed
    [InlineData("key=va=lue", false)] // '=' in the value
    [InlineData("=value", false)]
    [InlineData("key", false)]
    [InlineData("key=\u00e9", false)] // non-ASCII value
    [InlineData("key=a\u0001b", false)] // control character
    public void TraceState_Rules(string value, bool valid)
    {
        Assert.Equal(valid, TraceState.IsValid(value));
    }

    [Fact]
    public void TraceState_LimitCases()
    {
        var key256 = "k" + new string('a', 255);
        var value256 = new string('v', 256);
        Assert.True(TraceState.IsValid($"{key256}={value256}"));
        Assert.False(TraceState.IsValid($"{key256}a=v"));
        Assert.False(TraceState.IsValid($"k={value256}v"));

        var thirtyTwo = string.Join(',', Enumerable.Range(0, 32).Select(i => $"k{i}=v{i}"));
        Assert.True(TraceState.IsValid(thirtyTwo));
        Assert.False(TraceState.IsValid(thirtyTwo + ",k32=v32"));

        var long512 = string.Join(',', Enumerable.Range(0, 8).Select(i => $"k{i}=" + new string('x', 70)));
        Assert.True(long512.Length >= 512);
        Assert.True(TraceState.IsValid(long512));
        Assert.Equal("a=1,b=2", TraceState.Combine(new Microsoft.Extensions.Primitives.StringValues(["a=1", "b=2"])));
    }

    /// <summary>The recommendation's traceparent grammar, transcribed as a regular expression, as the oracle.</summary>
    private static readonly System.Text.RegularExpressions.Regex s_traceParentGrammar = new(
        "^(?<version>[0-9a-f]{2})-(?<trace>[0-9a-f]{32})-(?<parent>[0-9a-f]{16})-(?<flags>[0-9a-f]{2})(?<rest>-.*)?$",
        System.Text.RegularExpressions.RegexOptions.Singleline);

    private static bool OracleAccepts(string header)
    {
        var match = s_traceParentGrammar.Match(header);
        return match.Success && match.Groups["version"].Value != "ff" &&
            (match.Groups["version"].Value != "00" || !match.Groups["rest"].Success) &&
            match.Groups["trace"].Value.Any(c => c != '0') && match.Groups["parent"].Value.Any(c => c != '0');
    }

    [Fact]
    public void TraceParent_AnyVersionAndSuffix_RoundTripsAsVersion00()
    {
        var random = new Random(2);
        for (var i = 0; i < 2_000; i++)
        {
            var version = random.Next(0xff);
            var core = $"{ActivityTraceIdHex(random, 32)}-{ActivityTraceIdHex(random, 16)}-{random.Next(256):x2}";
            var suffix = version == 0 || random.Next(2) == 0 ? string.Empty : "-" + ActivityTraceIdHex(random, random.Next(0, 40));
            var header = $"{version:x2}-{core}{suffix}";
            if (!OracleAccepts(header))
            {
                continue; // an all-zero id, one time in 2^64
            }

            Assert.True(TraceParent.TryParse(header, out var parent), header);
            Assert.Equal(version, parent.Version);
            Assert.Equal($"00-{core}", parent.ToString());
        }
    }

    [Fact]
    public void TraceParent_AnyCorruption_IsAcceptedExactlyWhenTheGrammarAcceptsIt()
    {
        var random = new Random(55);
        const string alphabet = "0123456789abcdefABCDEFxyz-_ \t,.\u00e9\u0000";
        for (var i = 0; i < 20_000; i++)
        {
            var chars = $"{random.Next(3) switch { 0 => "00", 1 => "ff", _ => "cc" }}-{ActivityTraceIdHex(random, 32)}-{ActivityTraceIdHex(random, 16)}-{random.Next(256):x2}".ToCharArray().ToList();
            for (var edits = random.Next(1, 4); edits > 0; edits--)
            {
                var position = random.Next(chars.Count + 1);
                switch (random.Next(3))
                {
                    case 0 when position < chars.Count:
                        chars[position] = alphabet[random.Next(alphabet.Length)];
                        break;
                    case 1:
                        chars.Insert(position, alphabet[random.Next(alphabet.Length)]);
                        break;
                    default:
                        if (position < chars.Count)
                        {
                            chars.RemoveAt(position);
                        }

                        break;
                }
            }

            var header = new string([.. chars]);
            Assert.True(OracleAccepts(header) == TraceParent.TryParse(header, out _), header);
        }
    }

    [Fact]
    public void TraceState_AnyValidList_IsValid_AndAnyInvalidMemberInvalidatesIt()
    {
        var random = new Random(256);
        const string keyStart = "abcdefghijklmnopqrstuvwxyz0123456789";
        const string keyRest = keyStart + "_-*/@";
        var valueChars = Enumerable.Range(0x20, 0x7f - 0x20).Select(c => (char)c).Where(c => c is not (',' or '=')).ToArray();
        string Key() => keyStart[random.Next(keyStart.Length)] + new string([.. Enumerable.Range(0, random.Next(0, 20)).Select(_ => keyRest[random.Next(keyRest.Length)])]);
        string Value()
        {
            var value = new string([.. Enumerable.Range(0, random.Next(1, 30)).Select(_ => valueChars[random.Next(valueChars.Length)])]);
            return value[^1] == ' ' ? value[..^1] + "x" : value;
        }

        string[] invalidMembers = ["Upper=1", "k=", "=v", "k=a=b", "k=\u00e9", "k=a\u0001", "k", "k v=1", "_k=1"];
        for (var i = 0; i < 2_000; i++)
        {
            var members = Enumerable.Range(0, random.Next(1, TraceState.MaxMembers + 1)).Select(_ => $"{Key()}={Value()}").ToList();
            var separator = random.Next(3) switch { 0 => ",", 1 => " , ", _ => ",\t" };
            var valid = string.Join(separator, members);
            Assert.True(TraceState.IsValid(valid, out var count), valid);
            Assert.Equal(members.Count, count);
            Assert.Equal(valid, TraceState.Validate(valid));

            members.Insert(random.Next(members.Count + 1), invalidMembers[random.Next(invalidMembers.Length)]);
            Assert.False(TraceState.IsValid(string.Join(separator, members)), string.Join(separator, members));
        }
    }

    [Fact]
    public void Propagator_GetterCarrier_AppliesTheSameRules()
    {
        var propagator = new W3CTraceContextPropagator(new RequestContextSettings(new RequestContextOptions()));
        string? Extract(Dictionary<string, string[]> carrier, out string? state)
        {
            propagator.ExtractTraceIdAndState(carrier, static (object? c, string name, out string? value, out IEnumerable<string>? values) =>
            {
                value = null;
                values = ((Dictionary<string, string[]>)c!).TryGetValue(name, out var found) ? found : null;
            }, out var parent, out state);
            return parent;
        }

        var future = Extract(new() { ["traceparent"] = ["cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-x"], ["tracestate"] = ["a=1", "b=2"] }, out var state);
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", future);
        Assert.Equal("a=1,b=2", state);

        Assert.Null(Extract(new() { ["traceparent"] = ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] }, out state));
        Assert.Null(state);
        Assert.NotNull(Extract(new() { ["traceparent"] = ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"], ["tracestate"] = ["Bad=1"] }, out state));
        Assert.Null(state);
        Assert.Null(Extract(new() { ["tracestate"] = ["a=1"] }, out state));
        Assert.Null(state);
    }

    private static string ActivityTraceIdHex(Random random, int length) =>
        string.Concat(Enumerable.Range(0, length).Select(_ => "0123456789abcdef"[random.Next(16)]));
}
