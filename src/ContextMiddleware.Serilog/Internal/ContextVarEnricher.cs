using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Serilog.Internal;

/// <summary>
/// Adds one context variable's value as a property. The last property made is reused while the value is the same
/// (the same instance, for reference types), so a value that stays put costs no allocation per event.
/// </summary>
internal sealed class ContextVarEnricher<T>(ContextVar<T> variable, string propertyName) : ILogEventEnricher
{
    private Entry? _last;

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        if (!variable.TryGet(out var value))
        {
            if (!variable.HasDefault)
            {
                return;
            }

            value = variable.Get();
        }

        if (value is null)
        {
            return;
        }

        var last = Volatile.Read(ref _last);
        if (last is null || !Same(last.Value, value))
        {
            last = new Entry(value, propertyFactory.CreateProperty(propertyName, value));
            Volatile.Write(ref _last, last);
        }

        logEvent.AddPropertyIfAbsent(last.Property);
    }

    private static bool Same(T cached, T value) =>
        typeof(T).IsValueType ? EqualityComparer<T>.Default.Equals(cached, value) : ReferenceEquals(cached, value);

    private sealed record Entry(T Value, LogEventProperty Property);
}
