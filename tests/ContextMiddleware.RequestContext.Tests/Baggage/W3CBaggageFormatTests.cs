using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Baggage;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.Requests.Tests.Baggage;

/// <summary>
/// The parser and formatter against the W3C Baggage reference tests (github.com/w3c/baggage, test/): each case's header,
/// the members read (key, decoded value, properties as sent on), and the text written back.
/// </summary>
public class W3CBaggageFormatTests
{
    // The reference tests' percent-encoding case: the value, and Python's urllib.parse.quote of it.
    private const string SpecialValue = "\t \"';=asdf!@#$%^&*()";
    private const string SpecialEncoded = "%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29";

    public static TheoryData<string, string[]> ReferenceCases => new()
    {
        // test_parse_simple
        { "SomeKey=SomeValue", ["SomeKey=SomeValue"] },
        // test_parse_multiple
        { "SomeKey=SomeValue,SomeKey2=SomeValue2", ["SomeKey=SomeValue", "SomeKey2=SomeValue2"] },
        // test_parse_multiple_ows
        { "SomeKey \t = \t SomeValue \t , \t SomeKey2 \t = \t SomeValue2 \t ", ["SomeKey=SomeValue", "SomeKey2=SomeValue2"] },
        // test_parse_multiple_property / test_parse_multiple (properties)
        { "SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;ValueProp=PropVal", ["SomeKey=SomeValue;SomeProp", "SomeKey2=SomeValue2;ValueProp=PropVal"] },
        // test_parse_multiple_property_ows
        { "SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomeProp2", ["SomeKey=SomeValue;SomeProp", "SomeKey2=SomeValue2;SomeProp2"] },
        // test_parse_multiple_kv_property
        { "SomeKey=SomeValue;SomePropKey=SomePropValue,SomeKey2=SomeValue2;SomePropKey2=SomePropValue2", ["SomeKey=SomeValue;SomePropKey=SomePropValue", "SomeKey2=SomeValue2;SomePropKey2=SomePropValue2"] },
        // test_parse_multiple_kv_property_ows
        { "SomeKey \t = \t SomeValue \t ; \t SomePropKey=SomePropValue \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomePropKey2 \t = \t SomePropValue2", ["SomeKey=SomeValue;SomePropKey=SomePropValue", "SomeKey2=SomeValue2;SomePropKey2=SomePropValue2"] },
        // BaggageEntryTest.test_parse_multiple_equals
        { "SomeKey=SomeValue=equals", ["SomeKey=SomeValue=equals"] },
        // test_parse_multi_property / test_parse_multi_property_ows
        { "SomeKey=SomeValue;SomeProp;SecondProp=PropValue", ["SomeKey=SomeValue;SomeProp;SecondProp=PropValue"] },
        { "SomeKey \t = \t SomeValue \t ; \t SomeProp \t ; \t SecondProp \t = \t PropValue", ["SomeKey=SomeValue;SomeProp;SecondProp=PropValue"] },
        // test_parse_simple_ows, test_parse_property_ows, test_parse_kv_property_ows
        { "SomeKey \t = \t SomeValue \t ", ["SomeKey=SomeValue"] },
        { "SomeKey \t = \t SomeValue \t ; \t SomeProp", ["SomeKey=SomeValue;SomeProp"] },
        { "SomeKey \t = \t SomeValue \t ; \t SomePropKey \t = \t SomePropValue", ["SomeKey=SomeValue;SomePropKey=SomePropValue"] },
        // test_parse_percent_encoded and its OWS variant: the encoded text is sent on as it came.
        { "SomeKey=" + SpecialEncoded, ["SomeKey=" + SpecialEncoded] },
        { "SomeKey \t = \t " + SpecialEncoded + " \t ", ["SomeKey=" + SpecialEncoded] },
    };

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void ReferenceCase_MembersInCanonicalForm(string header, string[] expected)
    {
        var reader = W3CBaggage.Read(header);
        var members = new List<string>();
        while (reader.TryReadNext(out var member))
        {
            members.Add(member.ToCanonical());
        }

        Assert.Equal(expected, members);
        Assert.Equal(0, reader.Malformed);
    }

    [Fact]
    public void PercentEncodedValue_DecodesToTheReferenceValue_AndEncodesBackToWhatDecodesTheSame()
    {
        Assert.True(W3CBaggage.TryDecode(SpecialEncoded, out var decoded));
        Assert.Equal(SpecialValue, decoded);

        var builder = new System.Text.StringBuilder();
        W3CBaggage.AppendEncoded(builder, SpecialValue);
        Assert.True(W3CBaggage.TryDecode(builder.ToString(), out var again));
        Assert.Equal(SpecialValue, again);
        Assert.DoesNotContain(builder.ToString(), c => c is ' ' or '\t' or '"' or ',' or ';' or '\\');
    }

    [Theory]
    [InlineData("caf%C3%A9", "café")]
    [InlineData("%F0%9F%98%80", "😀")]
    [InlineData("bad%FFutf8", "bad\uFFFDutf8")]           // invalid UTF-8 becomes U+FFFD
    [InlineData("%C3", "\uFFFD")]                          // a truncated sequence too
    public void Decoding_IsUtf8_WithReplacementCharacter(string encoded, string expected)
    {
        Assert.True(W3CBaggage.TryDecode(encoded, out var decoded));
        Assert.Equal(expected, decoded);
    }

    [Theory]
    [InlineData("noequals")]
    [InlineData("=value")]
    [InlineData("key with space=v")]
    [InlineData("k=v v")]
    [InlineData("k=a\"b")]
    [InlineData("k=a\\b")]
    [InlineData("k=%ZZ")]
    [InlineData("k=%4")]
    [InlineData("k=v;bad prop")]
    [InlineData("k=v;p=a\"b")]
    [InlineData("k=caf\u00e9")]
    [InlineData("k=a\r\nX-Injected: 1")]
    [InlineData("k\u0001=v")]
    public void MalformedMember_IsDroppedAlone(string malformed)
    {
        var reader = W3CBaggage.Read($"a=1,{malformed},b=2");
        var keys = new List<string>();
        while (reader.TryReadNext(out var member))
        {
            keys.Add(member.Key.ToString());
        }

        Assert.Equal(["a", "b"], keys);
        Assert.Equal(1, reader.Malformed);
    }

    [Fact]
    public void SeveralHeaderLines_AreOneList_AndEmptyMembersAreSkipped()
    {
        var reader = W3CBaggage.Read(new StringValues(["a=1,,b=2", " ", "c=3"]));
        var keys = new List<string>();
        while (reader.TryReadNext(out var member))
        {
            keys.Add(member.Key.ToString());
        }

        Assert.Equal(["a", "b", "c"], keys);
        Assert.Equal(0, reader.Malformed);
    }

    [Fact]
    public void RuntimeW3CPropagator_ReadsWhatTheSuiteWrites_AndTheSuiteReadsWhatItWrites()
    {
        var runtime = DistributedContextPropagator.CreateW3CPropagator();
        string[] values = ["plain", SpecialValue, "café ☕", "a,b;c=d", "100%", "😀"];

        // The runtime writes Activity baggage; the suite decodes it.
        using var activity = new Activity("round-trip").SetIdFormat(ActivityIdFormat.W3C);
        for (var i = 0; i < values.Length; i++)
        {
            activity.AddBaggage($"k{i}", values[i]);
        }

        activity.Start();
        var headers = new Dictionary<string, string>();
        runtime.Inject(activity, headers, static (carrier, name, value) => ((Dictionary<string, string>)carrier!)[name] = value);
        activity.Stop();
        var decoded = Decode(headers["baggage"]);
        for (var i = 0; i < values.Length; i++)
        {
            // The runtime trims whitespace around a value before it encodes it ("\t \"';..." is sent as "%22'%3B...").
            Assert.Equal(values[i].Trim(), decoded[$"k{i}"]);
        }

        // The suite writes; the runtime decodes.
        var builder = new System.Text.StringBuilder();
        for (var i = 0; i < values.Length; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append($"k{i}=");
            W3CBaggage.AppendEncoded(builder, values[i]);
        }

        var extracted = runtime.ExtractBaggage(builder.ToString(), static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            value = name == "baggage" ? (string)carrier! : null;
            values = null;
        })!.ToDictionary(item => item.Key, item => item.Value);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(values[i], extracted[$"k{i}"]);
        }
    }

    [Fact]
    public void Limits_ReferenceCases_AreKept_AndBeyondTheBytesWholeMembersAreDropped_UnregisteredFirst()
    {
        var tenant = new ContextVar<string?>("tenant", null);
        var options = new RequestContextOptions();
        options.Baggage.Add(tenant, "tenant");
        var settings = new BaggageSettings(options.Baggage, RequestContextTrust.Trust);

        // test_serialize_at_least_64: 64 members are kept.
        var sixtyFour = string.Join(",", Enumerable.Range(0, 64).Select(i => $"key{i}=value"));
        Assert.Equal(64, BaggageReader.Kept(sixtyFour, settings, out var changed).Count);
        Assert.False(changed);

        // test_serialize_long_entry: one member of exactly 8,192 bytes is kept.
        var longEntry = "a=" + string.Concat(Enumerable.Repeat("0123456789", 819));
        Assert.Equal(8192, longEntry.Length);
        Assert.Equal(longEntry, string.Join(",", BaggageReader.Kept(longEntry, settings, out _)));

        // test_serialize_many_entries: 512 members in exactly 8,192 bytes are all kept.
        var many = string.Join(",", Enumerable.Range(0, 512).Select(i => $"{i:000}=0123456789a")) + "b";
        Assert.Equal(8192, many.Length);
        Assert.Equal(512, BaggageReader.Kept(many, settings, out changed).Count);
        Assert.False(changed);

        // Beyond 8,192 bytes: the registered member is kept first, then whole unregistered members in order.
        var over = string.Join(",", Enumerable.Range(0, 1000).Select(i => $"k{i:000}=0123456789")) + ",tenant=acme";
        var kept = BaggageReader.Kept(over, settings, out changed);
        var text = string.Join(",", kept);
        Assert.True(changed);
        Assert.True(text.Length <= 8192, $"kept {text.Length} bytes");
        Assert.StartsWith("tenant=acme,k000=0123456789,k001=", text, StringComparison.Ordinal);
        Assert.Equal(1 + (8192 - "tenant=acme".Length) / ",k000=0123456789".Length, kept.Count);
        Assert.Equal(kept, BaggageReader.Kept(over, settings, out _)); // deterministic
    }

    private static Dictionary<string, string> Decode(string header)
    {
        var result = new Dictionary<string, string>();
        var reader = W3CBaggage.Read(header);
        while (reader.TryReadNext(out var member))
        {
            Assert.True(W3CBaggage.TryDecode(member.EncodedValue, out var value));
            result[member.Key.ToString()] = value;
        }

        return result;
    }
}
