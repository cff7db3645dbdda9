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

    [ThreadStatic]
    private static Composition? t_composition;

    /// <summary>The header value for the current flow, or <see langword="null"/> when there is nothing to send.</summary>
    public static string? Compose(RequestContextSettings settings)
    {
        var baggage = settings.Baggage;
        var incoming = IncomingBaggage.Current.Get();
        var activity = Activity.Current;
        if (baggage.Variables.Length == 0 && incoming is null && activity is null)
        {
            return null;
        }

        var composition = t_composition ?? new Composition();
        t_composition = null; // a setter or a codec that sends a request of its own gets a composition of its own
        try
        {
            foreach (var variable in baggage.Variables)
            {
                var start = composition.Start();
                composition.Builder.Append(variable.Key).Append('=');
                if (variable.TryAppendEncoded(composition.Builder))
                {
                    composition.Fit(start);
                }
                else
                {
                    composition.Builder.Length = start; // unset
                }
            }

            if (incoming is not null)
            {
                BaggageReader.PassedOn(incoming.Lines, baggage, incoming.RegisteredLength, static (member, composition) =>
                {
                    var start = composition.Start();
                    if (member.Canonical)
                    {
                        composition.Builder.Append(member.Text);
                    }
                    else
                    {
                        composition.Builder.Append(member.ToCanonical());
                    }

                    composition.Fit(start);
                }, composition, out _);
            }

            if (activity is not null)
            {
                AddActivityBaggage(activity, baggage, incoming, composition);
            }

            if (composition.Dropped != 0 && settings.Logger is { } logger && RequestContext.Trace.Get() is { } trace &&
                trace.TryGetState<object>(s_overLimitLogged) is null)
            {
                // Once per request: every outgoing call of the request would drop the same members.
                trace.GetOrAddState(s_overLimitLogged, static (_, _) => new object(), 0);
                Logging.Log.BaggageOverLimit(logger, composition.Dropped, "sent", W3CBaggage.MaxBytes);
            }

            return composition.Builder.Length == 0 ? null : composition.Builder.ToString();
        }
        finally
        {
            composition.Reset();
            t_composition = composition;
        }
    }

    /// <summary>Baggage the app added to the Activity (or its parents) under keys that nothing above wrote.</summary>
    private static void AddActivityBaggage(Activity activity, BaggageSettings baggage, IncomingBaggage? incoming, Composition composition)
    {
        HashSet<string>? written = null;
        foreach (var (key, value) in activity.Baggage)
        {
            if (value is null || !W3CBaggage.IsToken(key) || baggage.TryGetVariable(key, out _))
            {
                continue;
            }

            if (written is null)
            {
                // The keys passed on (hosting put the caller's members on the request's Activity too), read once.
                written = new HashSet<string>(StringComparer.Ordinal);
                if (incoming is not null)
                {
                    BaggageReader.PassedOn(incoming.Lines, baggage, incoming.RegisteredLength,
                        static (member, keys) => keys.Add(member.Key.ToString()), written, out _);
                }
            }

            // A child's baggage comes before its parents', which may repeat a key the child replaced.
            if (!written.Add(key))
            {
                continue;
            }

            var start = composition.Start();
            composition.Builder.Append(key).Append('=');
            W3CBaggage.AppendEncoded(composition.Builder, value);
            composition.Fit(start);
        }
    }

    /// <summary>The header being written, reused by the thread (the header is the only allocation of a call).</summary>
    private sealed class Composition
    {
        public StringBuilder Builder { get; } = new(256);

        /// <summary>Members taken off again for the limit.</summary>
        public int Dropped { get; private set; }

        /// <summary>Starts a member: where it starts, after the separator.</summary>
        public int Start()
        {
            var start = Builder.Length;
            if (start != 0)
            {
                Builder.Append(',');
            }

            return start;
        }

        /// <summary>Takes the member just appended off again when the header would be too long.</summary>
        public void Fit(int start)
        {
            if (Builder.Length > W3CBaggage.MaxBytes)
            {
                Builder.Length = start;
                Dropped++;
            }
        }

        public void Reset()
        {
            Builder.Clear();
            if (Builder.Capacity > 4 * W3CBaggage.MaxBytes)
            {
                Builder.Capacity = 256;
            }

            Dropped = 0;
        }
    }
}
