using System.Diagnostics;
using System.Text;
using ContextMiddleware.AspNetCore.Internal.Options;
using Microsoft.Extensions.Primitives;

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
    /// <param name="settings">The settings.</param>
    /// <param name="replaced">
    /// A <c>baggage</c> header other code wrote on the request before (OpenTelemetry's HttpClient instrumentation, from
    /// <c>Baggage.Current</c>), which this one replaces: the members the app added or changed there are kept.
    /// </param>
    public static string? Compose(RequestContextSettings settings, StringValues replaced = default)
    {
        var baggage = settings.Baggage;
        var incoming = IncomingBaggage.Current.Get();
        var activity = Activity.Current;
        if (baggage.Variables.Length == 0 && incoming is null && activity is null && replaced.Count == 0)
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
                if (variable.TryAppendEncoded(composition.Builder, out var refusal))
                {
                    composition.Fit(start);
                }
                else
                {
                    composition.Builder.Length = start; // unset, or not sendable
                    if (refusal is not null)
                    {
                        RefusedOncePerRequest(settings, variable, refusal);
                    }
                }
            }

            // What the app set on the Activity (its own, or its parents': a child's first) and in OpenTelemetry's
            // Baggage.Current (the header it wrote), by key: the Activity's first.
            var appValues = AppValues(activity, replaced, baggage);
            composition.AppValues = appValues;
            if (incoming is not null)
            {
                BaggageReader.PassedOn(incoming.Lines, baggage, incoming.RegisteredLength, static (member, composition) =>
                {
                    var start = composition.Start();
                    if (composition.AppValues is { } values && values.TryGetValue(member.Key.ToString(), out var changed))
                    {
                        composition.Written!.Add(member.Key.ToString());
                        W3CBaggage.TryDecode(member.EncodedValue, out var sent);
                        if (!string.Equals(sent, changed, StringComparison.Ordinal))
                        {
                            // The app changed the member: its value goes on (its properties do not).
                            composition.Builder.Append(member.Key).Append('=');
                            W3CBaggage.AppendEncoded(composition.Builder, changed);
                            composition.Fit(start);
                            return;
                        }
                    }

                    composition.Builder.Append(member.Canonical ? member.Text : member.ToCanonical());
                    composition.Fit(start);
                }, composition, out _);
            }

            if (appValues is not null)
            {
                foreach (var (key, value) in appValues)
                {
                    if (composition.Written!.Contains(key))
                    {
                        continue;
                    }

                    var start = composition.Start();
                    composition.Builder.Append(key).Append('=');
                    W3CBaggage.AppendEncoded(composition.Builder, value);
                    composition.Fit(start);
                }
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

    /// <summary>
    /// The values of unregistered keys the app holds on the Activity and in the header OpenTelemetry wrote; null when
    /// there are none (most calls: the dictionary is made only when there is something in it).
    /// </summary>
    private static Dictionary<string, string>? AppValues(Activity? activity, StringValues replaced, BaggageSettings baggage)
    {
        Dictionary<string, string>? values = null;
        if (activity is not null)
        {
            foreach (var (key, value) in activity.Baggage)
            {
                // A child's baggage comes before its parents', which may repeat a key the child replaced.
                if (value is not null && W3CBaggage.IsToken(key) && !baggage.TryGetVariable(key, out _))
                {
                    (values ??= new(StringComparer.Ordinal)).TryAdd(key, value);
                }
            }
        }

        var reader = W3CBaggage.Read(replaced);
        while (reader.TryReadNext(out var member))
        {
            if (!baggage.TryGetVariable(member.Key, out _) && W3CBaggage.TryDecode(member.EncodedValue, out var value))
            {
                (values ??= new(StringComparer.Ordinal)).TryAdd(member.Key.ToString(), value);
            }
        }

        return values;
    }

    /// <summary>A value the app set that no receiver could read: a Warning naming the key, once per request.</summary>
    private static void RefusedOncePerRequest(RequestContextSettings settings, BaggageVariable variable, string refusal)
    {
        if (settings.Logger is not { } logger)
        {
            return;
        }

        if (RequestContext.Trace.Get() is { } trace)
        {
            if (trace.TryGetState<object>(variable) is not null)
            {
                return;
            }

            trace.GetOrAddState(variable, static (_, _) => new object(), 0);
        }

        Logging.Log.BaggageMemberNotSent(logger, variable.Key, refusal);
    }

    /// <summary>The header being written, reused by the thread (the header is the only allocation of a call).</summary>
    private sealed class Composition
    {
        public StringBuilder Builder { get; } = new(256);

        /// <summary>The app's values of unregistered keys for this header (see <c>AppValues</c>).</summary>
        public Dictionary<string, string>? AppValues
        {
            get => _appValues;
            set
            {
                _appValues = value;
                if (value is not null)
                {
                    Written ??= new(StringComparer.Ordinal);
                }
            }
        }

        private Dictionary<string, string>? _appValues;

        /// <summary>The keys of the app's values already written (as members passed on).</summary>
        public HashSet<string>? Written { get; private set; }

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
            _appValues = null;
            Written?.Clear();
            Builder.Clear();
            if (Builder.Capacity > 4 * W3CBaggage.MaxBytes)
            {
                Builder.Capacity = 256;
            }

            Dropped = 0;
        }
    }
}
