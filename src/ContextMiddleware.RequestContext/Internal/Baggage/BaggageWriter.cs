using System.Diagnostics;
using System.Text;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore.Internal.Baggage;

/// <summary>
/// The one home of the outgoing <c>baggage</c> header: the registered variables' current values (registration order),
/// the members passed on from the caller, then baggage the app added to the current <see cref="Activity"/> under keys
/// of its own; within <see cref="W3CBaggage.MaxBytes"/>, whole members only, in that order of priority.
/// </summary>
internal static class BaggageWriter
{
    private static readonly object s_overLimitLogged = new();

    /// <summary>The header value for the current flow, or <see langword="null"/> when there is nothing to send.</summary>
    public static string? Compose(RequestContextSettings settings)
    {
        var baggage = settings.Baggage;
        StringBuilder? builder = null;
        var dropped = 0;
        foreach (var variable in baggage.Variables)
        {
            if (variable.TryGetText(out var text))
            {
                builder ??= new StringBuilder();
                var start = builder.Length;
                if (start != 0)
                {
                    builder.Append(',');
                }

                builder.Append(variable.Key).Append('=');
                W3CBaggage.AppendEncoded(builder, text);
                dropped += Fit(builder, start);
            }
        }

        var passThrough = IncomingBaggage.Current.Get()?.Members;
        foreach (var member in passThrough ?? [])
        {
            builder ??= new StringBuilder();
            var start = builder.Length;
            if (start != 0)
            {
                builder.Append(',');
            }

            builder.Append(member.Text);
            dropped += Fit(builder, start);
        }

        if (Activity.Current is { } activity)
        {
            HashSet<string>? seen = null;
            foreach (var (key, value) in activity.Baggage)
            {
                // A child's baggage comes before its parents', which may repeat a key the child replaced.
                if (value is null || !W3CBaggage.IsToken(key) || baggage.ByKey.ContainsKey(key) || IsPassedOn(passThrough, key) ||
                    !(seen ??= new(StringComparer.Ordinal)).Add(key))
                {
                    continue;
                }

                builder ??= new StringBuilder();
                var start = builder.Length;
                if (start != 0)
                {
                    builder.Append(',');
                }

                builder.Append(key).Append('=');
                W3CBaggage.AppendEncoded(builder, value);
                dropped += Fit(builder, start);
            }
        }

        if (dropped != 0 && settings.Logger is { } logger && RequestContext.Trace.Get() is { } trace &&
            trace.TryGetState<object>(s_overLimitLogged) is null)
        {
            // Once per request: every outgoing call of the request would drop the same members.
            trace.GetOrAddState(s_overLimitLogged, static (_, _) => new object(), 0);
            Logging.Log.BaggageOverLimit(logger, dropped, "sent", W3CBaggage.MaxBytes);
        }

        return builder is { Length: > 0 } ? builder.ToString() : null;
    }

    /// <summary>Takes the member just appended off again when the header would be too long; 1 when it did.</summary>
    private static int Fit(StringBuilder builder, int start)
    {
        if (builder.Length <= W3CBaggage.MaxBytes)
        {
            return 0;
        }

        builder.Length = start;
        return 1;
    }

    private static bool IsPassedOn(PassThroughMember[]? members, string key)
    {
        foreach (var member in members ?? [])
        {
            if (member.Key.SequenceEqual(key))
            {
                return true;
            }
        }

        return false;
    }
}
