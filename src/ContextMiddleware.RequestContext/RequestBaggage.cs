using ContextMiddleware.AspNetCore.Internal.Baggage;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The baggage variables of the current call (<see cref="RequestContextOptions.Baggage"/>) as logging integrations read
/// them.
/// </summary>
public static class RequestBaggage
{
    private static readonly object s_key = new();

    /// <summary>
    /// Gets the log properties of the current call's baggage variables registered with a
    /// <see cref="BaggageVariableOptions{T}.LogPropertyName"/>: the name and the current value as it is sent, for the
    /// variables that have a value. Empty outside a call. The list is kept while the values do not change, so reading it
    /// for each event allocates nothing; it never changes once returned.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> LogProperties
    {
        get
        {
            var trace = RequestContext.Trace.Get();
            if (trace?.Settings?.Baggage is not { Logged.Length: > 0 } settings)
            {
                return [];
            }

            var kept = trace.TryGetState<LogPropertyHolder>(s_key)?.Snapshot;
            if (kept is not null && kept.IsCurrent(settings.Logged))
            {
                return kept.Properties;
            }

            var made = LogPropertySnapshot.Make(settings.Logged);

            // The latest snapshot replaces the kept one (state is added once, then the snapshot inside it changes).
            var holder = trace.GetOrAddState(s_key, static (_, snapshot) => new LogPropertyHolder(snapshot), made);
            holder.Snapshot = made;
            return made.Properties;
        }
    }

    /// <summary>The log properties made from one set of values.</summary>
    private sealed class LogPropertySnapshot(object?[] values, KeyValuePair<string, string>[] properties)
    {
        public KeyValuePair<string, string>[] Properties { get; } = properties;

        public bool IsCurrent(BaggageVariable[] variables)
        {
            for (var i = 0; i < variables.Length; i++)
            {
                if (!variables[i].HasValue(values[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public static LogPropertySnapshot Make(BaggageVariable[] variables)
        {
            var values = new object?[variables.Length];
            List<KeyValuePair<string, string>> properties = [];
            for (var i = 0; i < variables.Length; i++)
            {
                values[i] = variables[i].CurrentValue();
                if (values[i] is not null && variables[i].TryGetText(out var text))
                {
                    properties.Add(new(variables[i].LogPropertyName!, text));
                }
            }

            return new LogPropertySnapshot(values, [.. properties]);
        }
    }

    private sealed class LogPropertyHolder(LogPropertySnapshot snapshot)
    {
        private LogPropertySnapshot _snapshot = snapshot;

        public LogPropertySnapshot Snapshot
        {
            get => Volatile.Read(ref _snapshot);
            set => Volatile.Write(ref _snapshot, value);
        }
    }
}
