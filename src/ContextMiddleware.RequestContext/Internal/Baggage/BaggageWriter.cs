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
    private static readonly object s_lastHeader = new();

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

        // Inside a request, later calls usually send what the first one did: kept with the request while the registered
        // values and the members passed on are the same, and nothing else (the Activity's baggage, OpenTelemetry's) adds.
        var trace = RequestContext.Trace.Get();
        var reusable = trace is not null && replaced.Count == 0 &&
            (activity is null || activity.Baggage is ICollection<KeyValuePair<string, string?>> { Count: 0 });
        var last = reusable ? trace!.TryGetState<LastHeader>(s_lastHeader) : null;
        if (last?.Snapshot is { } snapshot && snapshot.IsCurrent(baggage.Variables, incoming))
        {
            return snapshot.Header;
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
                        composition.Refused = true;
                        RefusedOncePerRequest(settings, variable, refusal);
                    }
                }
            }

            // What the app holds under unregistered keys on the Activity (its own, or its parents': a child's first) and
            // in OpenTelemetry's Baggage.Current (the header its instrumentation wrote).
            composition.ActivityValues = ValuesOf(activity, baggage);
            composition.OpenTelemetryValues = ValuesOf(replaced, baggage);
            if (incoming is not null)
            {
                // Where a holder was made from the caller's members (the call's Activity; Baggage.Current, read from the
                // caller's header by OpenTelemetry's ASP.NET Core instrumentation), a member it lacks was removed by the app.
                composition.ActivityHolds = incoming.Holder is { } holder && IsInChain(activity, holder);
                composition.OpenTelemetryHolds = HoldsAnyIncoming(replaced, incoming);
                BaggageReader.PassedOn(incoming.Lines, baggage, incoming.RegisteredLength, static (member, composition) => composition.PassOn(member), composition, out _);
            }

            composition.AddAppValues(composition.ActivityValues);
            composition.AddAppValues(composition.OpenTelemetryValues);

            if (composition.Dropped != 0 && settings.Logger is { } logger && trace is not null &&
                trace.TryGetState<object>(s_overLimitLogged) is null)
            {
                // Once per request: every outgoing call of the request would drop the same members.
                trace.GetOrAddState(s_overLimitLogged, static (_, _) => new object(), 0);
                Logging.Log.BaggageOverLimit(logger, composition.Dropped, "sent", W3CBaggage.MaxBytes);
            }

            var header = composition.Builder.Length == 0 ? null : composition.Builder.ToString();
            if (reusable && composition.Dropped == 0 && !composition.Refused)
            {
                (last ?? trace!.GetOrAddState(s_lastHeader, static (_, _) => new LastHeader(), 0)).Snapshot =
                    HeaderSnapshot.Make(baggage.Variables, incoming, header);
            }

            return header;
        }
        finally
        {
            composition.Reset();
            t_composition = composition;
        }
    }

    /// <summary>Whether <paramref name="holder"/> is <paramref name="activity"/> or one of its parents.</summary>
    private static bool IsInChain(Activity? activity, Activity holder)
    {
        for (var current = activity; current is not null; current = current.Parent)
        {
            if (ReferenceEquals(current, holder))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the header OpenTelemetry wrote holds any member of the caller's header (its ASP.NET Core instrumentation
    /// read Baggage.Current from it): then a member passed on that it lacks was removed by the app.
    /// </summary>
    private static bool HoldsAnyIncoming(StringValues replaced, IncomingBaggage incoming)
    {
        if (replaced.Count == 0)
        {
            return false;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        var reader = W3CBaggage.Read(incoming.Lines);
        while (reader.TryReadNext(out var member))
        {
            keys.Add(member.Key.ToString());
        }

        reader = W3CBaggage.Read(replaced);
        while (reader.TryReadNext(out var member))
        {
            if (keys.Contains(member.Key.ToString()))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The values of unregistered keys on the Activity and its parents (a child's first); null when none.</summary>
    private static Dictionary<string, string>? ValuesOf(Activity? activity, BaggageSettings baggage)
    {
        Dictionary<string, string>? values = null;
        if (activity is not null)
        {
            foreach (var (key, value) in activity.Baggage)
            {
                if (value is not null && W3CBaggage.IsToken(key) && !baggage.TryGetVariable(key, out _))
                {
                    (values ??= new(StringComparer.Ordinal)).TryAdd(key, value);
                }
            }
        }

        return values;
    }

    /// <summary>The values of unregistered keys in a header other code wrote; null when none.</summary>
    private static Dictionary<string, string>? ValuesOf(StringValues header, BaggageSettings baggage)
    {
        Dictionary<string, string>? values = null;
        var reader = W3CBaggage.Read(header);
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
        private HashSet<string>? _written;

        public StringBuilder Builder { get; } = new(256);

        /// <summary>The app's values of unregistered keys on the Activity, and in OpenTelemetry's header.</summary>
        public Dictionary<string, string>? ActivityValues { get; set; }

        public Dictionary<string, string>? OpenTelemetryValues { get; set; }

        /// <summary>Whether the Activity, and OpenTelemetry's baggage, were made from the caller's members.</summary>
        public bool ActivityHolds { get; set; }

        public bool OpenTelemetryHolds { get; set; }

        /// <summary>Members taken off again for the limit.</summary>
        public int Dropped { get; private set; }

        /// <summary>Whether a value set in code was refused.</summary>
        public bool Refused { get; set; }

        private bool Tracks => ActivityValues is not null || OpenTelemetryValues is not null || ActivityHolds || OpenTelemetryHolds;

        /// <summary>
        /// Writes one member passed on: left out when the app removed it from a holder, with the app's value when it
        /// changed it (the Activity's first), as it came otherwise; once per key.
        /// </summary>
        public void PassOn(BaggageMember member)
        {
            if (Tracks)
            {
                var key = member.Key.ToString();
                if (!(_written ??= new(StringComparer.Ordinal)).Add(key))
                {
                    return; // a key the caller repeated
                }

                string? activityValue = null;
                string? openTelemetryValue = null;
                if ((ActivityHolds && ActivityValues?.TryGetValue(key, out activityValue) != true) ||
                    (OpenTelemetryHolds && OpenTelemetryValues?.TryGetValue(key, out openTelemetryValue) != true))
                {
                    return; // removed by the app
                }

                activityValue ??= ActivityValues?.GetValueOrDefault(key);
                openTelemetryValue ??= OpenTelemetryValues?.GetValueOrDefault(key);
                if (activityValue is not null || openTelemetryValue is not null)
                {
                    W3CBaggage.TryDecode(member.EncodedValue, out var sent);
                    var changed = activityValue is not null && !string.Equals(activityValue, sent, StringComparison.Ordinal) ? activityValue
                        : openTelemetryValue is not null && !string.Equals(openTelemetryValue, sent, StringComparison.Ordinal) ? openTelemetryValue
                        : null;
                    if (changed is not null)
                    {
                        // Its value goes on, its properties do not.
                        var changedStart = Start();
                        Builder.Append(member.Key).Append('=');
                        W3CBaggage.AppendEncoded(Builder, changed);
                        Fit(changedStart);
                        return;
                    }
                }
            }

            var start = Start();
            Builder.Append(member.Canonical ? member.Text : member.ToCanonical());
            Fit(start);
        }

        /// <summary>Writes the app's values of keys not written yet.</summary>
        public void AddAppValues(Dictionary<string, string>? values)
        {
            if (values is null)
            {
                return;
            }

            foreach (var (key, value) in values)
            {
                if (!(_written ??= new(StringComparer.Ordinal)).Add(key))
                {
                    continue;
                }

                var start = Start();
                Builder.Append(key).Append('=');
                W3CBaggage.AppendEncoded(Builder, value);
                Fit(start);
            }
        }

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
            ActivityValues = null;
            OpenTelemetryValues = null;
            ActivityHolds = false;
            OpenTelemetryHolds = false;
            Refused = false;
            _written?.Clear();
            Builder.Clear();
            if (Builder.Capacity > 4 * W3CBaggage.MaxBytes)
            {
                Builder.Capacity = 256;
            }

            Dropped = 0;
        }
    }

    /// <summary>The last header a request composed, replaced as a whole (read from several flows at once).</summary>
    private sealed class LastHeader
    {
        private HeaderSnapshot? _snapshot;

        public HeaderSnapshot? Snapshot
        {
            get => Volatile.Read(ref _snapshot);
            set => Volatile.Write(ref _snapshot, value);
        }
    }

    /// <summary>A header and what it was made from: the registered values and the members passed on.</summary>
    private sealed class HeaderSnapshot(object?[] values, IncomingBaggage? incoming, string? header)
    {
        public string? Header { get; } = header;

        public bool IsCurrent(BaggageVariable[] variables, IncomingBaggage? current)
        {
            if (!ReferenceEquals(current, incoming))
            {
                return false;
            }

            for (var i = 0; i < variables.Length; i++)
            {
                if (!variables[i].HasValue(values[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public static HeaderSnapshot Make(BaggageVariable[] variables, IncomingBaggage? incoming, string? header)
        {
            var values = new object?[variables.Length];
            for (var i = 0; i < variables.Length; i++)
            {
                values[i] = variables[i].CurrentValue();
            }

            return new HeaderSnapshot(values, incoming, header);
        }
    }
}
