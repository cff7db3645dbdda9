using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>
/// The one home of what is believed of a trusted caller's <c>baggage</c>: which members become variables' values,
/// which are passed on, and which are dropped and why. Every transport goes through <see cref="Select"/>: calls and
/// messages (<see cref="Apply"/>), ASP.NET Core's hosting (<see cref="Normalize"/>, for the header that OpenTelemetry
/// reads again) and the Activity's baggage (<see cref="Decode"/>).
/// </summary>
internal static class BaggageReader
{
    /// <summary>
    /// Parses <paramref name="lines"/> and decides: registered members whose value reads and passes its checks (the
    /// first of a repeated key), then, when passed through, unregistered ones; within <see cref="W3CBaggage.MaxBytes"/>,
    /// registered members first, then the others in the order they came, whole members only.
    /// </summary>
    public static BaggageSelection Select(StringValues lines, BaggageSettings settings)
    {
        var selection = new BaggageSelection();
        var reader = W3CBaggage.Read(lines);
        while (reader.TryReadNext(out var member))
        {
            if (settings.ByKey.TryGetValue(member.Key, out var variable))
            {
                if (selection.Has(variable))
                {
                    selection.Drop(variable.Key, "the key is repeated (the first member is used)");
                    continue;
                }

                // The parser checked the percent-encoding: decoding cannot fail here.
                W3CBaggage.TryDecode(member.EncodedValue, out var text);
                if (variable.TryRead(text, out var value, out var reason))
                {
                    selection.Registered.Add(new(variable, value, member));
                }
                else
                {
                    selection.Drop(variable.Key, reason);
                }
            }
            else if (settings.PassThroughUnregistered)
            {
                (selection.PassThrough ??= []).Add(new(member, member.Canonical ? null : member.ToCanonical()));
            }
            else
            {
                selection.Unregistered++;
            }
        }

        selection.Malformed = reader.Malformed;
        selection.FitToLimit();
        return selection;
    }

    /// <summary>
    /// Sets the registered variables and the members to pass on in the current flow, from a trusted caller's
    /// <paramref name="lines"/>; then logs what was dropped (so the records carry the call's ids, set before).
    /// </summary>
    public static void Apply(StringValues lines, BaggageSettings settings, ILogger? logger)
    {
        var selection = Select(lines, settings);
        foreach (var (variable, value, _) in selection.Registered)
        {
            variable.Set(value);
        }

        if (selection.PassThrough is { Count: > 0 } passThrough)
        {
            IncomingBaggage.Current.Set(new IncomingBaggage([.. passThrough]));
        }

        if (logger is not null)
        {
            selection.Log(logger);
        }
    }

    /// <summary>
    /// The header a trusted caller's <paramref name="lines"/> come down to: the lines themselves when nothing is dropped
    /// or rewritten, otherwise the members kept, in canonical form, as one line (empty when none is kept).
    /// </summary>
    public static StringValues Normalize(StringValues lines, BaggageSettings settings)
    {
        var selection = Select(lines, settings);
        if (!selection.Changed && lines.Count == 1)
        {
            return lines;
        }

        var builder = new StringBuilder();
        foreach (var member in selection.Kept())
        {
            if (builder.Length != 0)
            {
                builder.Append(',');
            }

            builder.Append(member);
        }

        return builder.Length == 0 ? StringValues.Empty : new StringValues(builder.ToString());
    }

    /// <summary>The members kept, decoded, for <see cref="Activity.Baggage"/> (the runtime adds them to the Activity in reverse).</summary>
    public static List<KeyValuePair<string, string?>>? Decode(StringValues lines, BaggageSettings settings)
    {
        var selection = Select(lines, settings);
        List<KeyValuePair<string, string?>>? pairs = null;
        foreach (var (variable, _, member) in selection.Registered)
        {
            W3CBaggage.TryDecode(member.EncodedValue, out var text);
            (pairs ??= []).Add(new(variable.Key, text));
        }

        foreach (var member in selection.PassThrough ?? [])
        {
            W3CBaggage.TryDecode(ValueOf(member.Text), out var text);
            (pairs ??= []).Add(new(member.Key.ToString(), text));
        }

        return pairs;
    }

    /// <summary>The encoded value of a member in canonical form (<c>key=value;properties</c>).</summary>
    private static ReadOnlySpan<char> ValueOf(ReadOnlySpan<char> text)
    {
        var value = text[(text.IndexOf('=') + 1)..];
        var semicolon = value.IndexOf(';');
        return semicolon < 0 ? value : value[..semicolon];
    }
}

/// <summary>What <see cref="BaggageReader.Select"/> decided for one header.</summary>
internal sealed class BaggageSelection
{
    /// <summary>The longest key a record shows; keys are tokens, so they are safe to log, but can be long.</summary>
    private const int MaxLoggedKeyLength = 64;

    public List<(BaggageVariable Variable, object? Value, BaggageMember Member)> Registered { get; } = [];

    public List<PassThroughMember>? PassThrough { get; set; }

    /// <summary>Registered keys dropped, and why.</summary>
    public List<(string Key, string Reason)>? Dropped { get; private set; }

    /// <summary>Members that broke the grammar.</summary>
    public int Malformed { get; set; }

    /// <summary>Unregistered members not passed through (the option is off).</summary>
    public int Unregistered { get; set; }

    /// <summary>Members dropped to keep within the size limit.</summary>
    public int OverLimit { get; private set; }

    /// <summary>Whether the members kept differ from what was sent (beyond whitespace, which is always removed).</summary>
    public bool Changed => Dropped is not null || Malformed != 0 || Unregistered != 0 || OverLimit != 0 ||
        Registered.Exists(static item => !item.Member.Canonical) || PassThrough?.Exists(static member => member.IsRewritten) == true;

    public bool Has(BaggageVariable variable) => Registered.Exists(item => ReferenceEquals(item.Variable, variable));

    public void Drop(string key, string reason) =>
        (Dropped ??= []).Add((key.Length <= MaxLoggedKeyLength ? key : string.Concat(key.AsSpan(0, MaxLoggedKeyLength), "…"), reason));

    /// <summary>The text of every member kept, registered first.</summary>
    public IEnumerable<string> Kept()
    {
        foreach (var (_, _, member) in Registered)
        {
            yield return member.Canonical ? member.Text.ToString() : member.ToCanonical();
        }

        foreach (var member in PassThrough ?? [])
        {
            yield return member.Text.ToString();
        }
    }

    /// <summary>Drops whole members beyond <see cref="W3CBaggage.MaxBytes"/>: registered ones are kept first.</summary>
    public void FitToLimit()
    {
        var used = 0;
        for (var i = 0; i < Registered.Count; i++)
        {
            var member = Registered[i].Member;
            var length = (member.Canonical ? member.Length : member.ToCanonical().Length) + (used == 0 ? 0 : 1);
            if (used + length > W3CBaggage.MaxBytes)
            {
                Registered.RemoveAt(i--);
                OverLimit++;
                continue;
            }

            used += length;
        }

        if (PassThrough is null)
        {
            return;
        }

        for (var i = 0; i < PassThrough.Count; i++)
        {
            var length = PassThrough[i].Text.Length + (used == 0 ? 0 : 1);
            if (used + length > W3CBaggage.MaxBytes)
            {
                PassThrough.RemoveAt(i--);
                OverLimit++;
                continue;
            }

            used += length;
        }
    }

    /// <summary>Logs what was dropped: each registered key with its reason, and counts of the others; never a value.</summary>
    public void Log(ILogger logger)
    {
        foreach (var (key, reason) in Dropped ?? [])
        {
            Logging.Log.BaggageMemberDropped(logger, key, reason);
        }

        if (Malformed != 0)
        {
            Logging.Log.MalformedBaggage(logger, Malformed);
        }

        if (OverLimit != 0)
        {
            Logging.Log.BaggageOverLimit(logger, OverLimit, "received", W3CBaggage.MaxBytes);
        }
    }
}
