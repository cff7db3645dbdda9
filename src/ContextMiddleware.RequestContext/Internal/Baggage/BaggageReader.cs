using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>
/// The one home of what is believed of a trusted caller's <c>baggage</c>: which members become variables' values,
/// which are passed on, and which are dropped and why. Registered members come first (the first of a repeated key,
/// when its value reads and passes its checks), then, when passed through, the unregistered ones in the order they
/// came; whole members within <see cref="W3CBaggage.MaxBytes"/>. Calls and messages (<see cref="Apply"/>), ASP.NET
/// Core's hosting (<see cref="Normalize"/>, for the header OpenTelemetry reads again), the Activity's baggage
/// (<see cref="Decode"/>) and outgoing calls (<see cref="PassedOn"/>) all decide here.
/// </summary>
internal static class BaggageReader
{
    /// <summary>The registered members of a header: their variables and values, and what was dropped.</summary>
    public static RegisteredMembers ReadRegistered(StringValues lines, BaggageSettings settings)
    {
        var result = new RegisteredMembers();
        var reader = W3CBaggage.Read(lines);
        while (reader.TryReadNext(out var member))
        {
            if (!settings.TryGetVariable(member.Key, out var variable))
            {
                result.Unregistered++;
                result.UnregisteredLength += member.CanonicalLength + 1;
                continue;
            }

            if (result.Has(variable))
            {
                result.Drop(variable.Key, "the key is repeated (the first member is used)");
                continue;
            }

            // The parser checked the percent-encoding: decoding cannot fail here.
            W3CBaggage.TryDecode(member.EncodedValue, out var text);
            if (variable.TryRead(text, out var value, out var reason))
            {
                (result.Items ??= []).Add(new(variable, value, member));
            }
            else
            {
                result.Drop(variable.Key, reason);
            }
        }

        result.Malformed = reader.Malformed;

        // Registered members are kept first, in the order they came, whole members within the limit.
        for (var i = 0; i < (result.Items?.Count ?? 0); i++)
        {
            var length = result.Items![i].Member.CanonicalLength + (result.Used == 0 ? 0 : 1);
            if (result.Used + length > W3CBaggage.MaxBytes)
            {
                result.Items.RemoveAt(i--);
                result.OverLimit++;
                continue;
            }

            result.Used += length;
        }

        return result;
    }

    /// <summary>
    /// Visits the unregistered members of <paramref name="lines"/> that fit after <paramref name="used"/> bytes of
    /// registered members, in the order they came (whole members, greedily).
    /// </summary>
    /// <returns>How many were visited; <paramref name="overLimit"/> how many did not fit.</returns>
    public static int PassedOn<TState>(
        StringValues lines, BaggageSettings settings, int used, Action<BaggageMember, TState> visit, TState state, out int overLimit)
    {
        overLimit = 0;
        var kept = 0;
        var reader = W3CBaggage.Read(lines);
        while (reader.TryReadNext(out var member))
        {
            if (settings.TryGetVariable(member.Key, out _))
            {
                continue;
            }

            var length = member.CanonicalLength + (used == 0 ? 0 : 1);
            if (used + length > W3CBaggage.MaxBytes)
            {
                overLimit++;
                continue;
            }

            used += length;
            kept++;
            visit(member, state);
        }

        return kept;
    }

    /// <summary>
    /// Sets the registered variables and the members to pass on in the current flow, from a trusted caller's
    /// <paramref name="lines"/>; then logs what was dropped (so the records carry the call's ids, set before). Allocates
    /// only for registered members: the members to pass on are kept as the lines they came in, and read again when a
    /// call is made.
    /// </summary>
    public static void Apply(StringValues lines, BaggageSettings settings, ILogger? logger, System.Diagnostics.Activity? activity = null)
    {
        var registered = ReadRegistered(lines, settings);
        foreach (var (variable, value, _) in registered.Items ?? [])
        {
            variable.Set(value);
        }

        var overLimit = registered.OverLimit;
        if (settings.PassThroughUnregistered && registered.Unregistered != 0)
        {
            // Usually all of them fit, and nothing needs reading again.
            var kept = registered.Unregistered;
            if (registered.Used + registered.UnregisteredLength - (registered.Used == 0 ? 1 : 0) > W3CBaggage.MaxBytes)
            {
                kept = PassedOn(lines, settings, registered.Used, static (_, _) => { }, 0, out var passOverLimit);
                overLimit += passOverLimit;
            }

            if (kept != 0)
            {
                // The call's Activity holds the members when the transport put them there (hosting's, SignalR's).
                IncomingBaggage.Current.Set(new IncomingBaggage(lines, registered.Used, HolderOf(activity, lines, settings, registered.Used)));
            }
        }

        if (logger is null)
        {
            return;
        }

        foreach (var (key, reason) in registered.Dropped ?? [])
        {
            Logging.Log.BaggageMemberDropped(logger, key, reason);
        }

        if (registered.Malformed != 0)
        {
            Logging.Log.MalformedBaggage(logger, registered.Malformed);
        }

        if (overLimit != 0)
        {
            Logging.Log.BaggageOverLimit(logger, overLimit, "received", W3CBaggage.MaxBytes);
        }
    }

    /// <summary>The call's Activity, when its baggage holds the first member passed on (the transport put them there).</summary>
    private static System.Diagnostics.Activity? HolderOf(System.Diagnostics.Activity? activity, StringValues lines, BaggageSettings settings, int used)
    {
        if (activity is null)
        {
            return null;
        }

        var first = new string?[1];
        PassedOn(lines, settings, used, static (member, first) => first[0] ??= member.Key.ToString(), first, out _);
        return first[0] is { } key && activity.GetBaggageItem(key) is not null ? activity : null;
    }

    /// <summary>The canonical text of every member kept, registered first.</summary>
    public static List<string> Kept(StringValues lines, BaggageSettings settings, out bool changed)
    {
        var registered = ReadRegistered(lines, settings);
        var kept = new List<string>();
        var rewritten = false;
        foreach (var (_, _, member) in registered.Items ?? [])
        {
            rewritten |= !member.Canonical;
            kept.Add(member.Canonical ? member.Text.ToString() : member.ToCanonical());
        }

        var passOverLimit = 0;
        if (settings.PassThroughUnregistered)
        {
            PassedOn(lines, settings, registered.Used, (member, list) =>
            {
                rewritten |= !member.Canonical;
                list.Add(member.Canonical ? member.Text.ToString() : member.ToCanonical());
            }, kept, out passOverLimit);
        }

        changed = rewritten || registered.Dropped is not null || registered.Malformed != 0 || registered.OverLimit != 0 || passOverLimit != 0 ||
            (!settings.PassThroughUnregistered && registered.Unregistered != 0);
        return kept;
    }

    /// <summary>
    /// The header a trusted caller's <paramref name="lines"/> come down to: the lines themselves when every member is
    /// kept as it came, otherwise the members kept, in canonical form, as one line (empty when none is kept).
    /// </summary>
    public static StringValues Normalize(StringValues lines, BaggageSettings settings)
    {
        var kept = Kept(lines, settings, out var changed);
        if (!changed && lines.Count == 1)
        {
            return lines;
        }

        return kept.Count == 0 ? StringValues.Empty : new StringValues(string.Join(",", kept));
    }

    /// <summary>The members kept, decoded, for <see cref="Activity.Baggage"/>.</summary>
    public static List<KeyValuePair<string, string?>>? Decode(StringValues lines, BaggageSettings settings)
    {
        List<KeyValuePair<string, string?>>? pairs = null;
        foreach (var text in Kept(lines, settings, out _))
        {
            var equals = text.IndexOf('=', StringComparison.Ordinal);
            var value = text.AsSpan(equals + 1);
            var semicolon = value.IndexOf(';');
            W3CBaggage.TryDecode(semicolon < 0 ? value : value[..semicolon], out var decoded);
            (pairs ??= []).Add(new(text[..equals], decoded));
        }

        return pairs;
    }
}

/// <summary>The registered members of one header, as <see cref="BaggageReader.ReadRegistered"/> decided.</summary>
internal sealed class RegisteredMembers
{
    /// <summary>The members kept, with their variables and values read.</summary>
    public List<(BaggageVariable Variable, object? Value, BaggageMember Member)>? Items { get; set; }

    /// <summary>Registered keys dropped, and why (never the value).</summary>
    public List<(string Key, string Reason)>? Dropped { get; private set; }

    /// <summary>Members that broke the grammar.</summary>
    public int Malformed { get; set; }

    /// <summary>Members no variable is registered for.</summary>
    public int Unregistered { get; set; }

    /// <summary>Registered members dropped to keep within the limit.</summary>
    public int OverLimit { get; set; }

    /// <summary>The bytes the registered members kept take, separators included.</summary>
    public int Used { get; set; }

    /// <summary>The bytes all unregistered members would take, each with a separator.</summary>
    public int UnregisteredLength { get; set; }

    public bool Has(BaggageVariable variable)
    {
        foreach (var item in Items ?? [])
        {
            if (ReferenceEquals(item.Variable, variable))
            {
                return true;
            }
        }

        return false;
    }

    public void Drop(string key, string reason) =>
        (Dropped ??= []).Add((W3CBaggage.Shown(key), reason));
}
