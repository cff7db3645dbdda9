using ContextMiddleware.AspNetCore.Internal.Properties;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// The current request's properties (<see cref="RequestContext.Properties"/>): values set anywhere in the request's
/// call chain (any async depth, <c>Task.Run</c> children, the request's background work) that every event the request
/// writes afterwards carries, through the Serilog enricher and the Microsoft.Extensions.Logging request scope.
/// </summary>
/// <remarks>
/// <para>
/// Unlike a <see cref="ContextVar{T}"/>, whose value a child's <c>Set</c> never shows its parent, the properties are the
/// request's: one set for the whole request, shared by all its flows, safe to set from several at once, and the same
/// for a request's events written after the code that set them returned. Another request never sees them.
/// </para>
/// <para>
/// Safe by construction: names follow a rule (1 to 64 characters of letters, digits, <c>_</c>, <c>.</c> and <c>-</c>,
/// starting with a letter or <c>_</c>; not RequestId, TraceId, SpanId, UserId, UserName or another of the suite's own),
/// a request carries at most <see cref="RequestPropertiesOptions.MaxCount"/> properties and a value at most
/// <see cref="RequestPropertiesOptions.MaxValueLength"/> characters. A property over a limit, or whose value cannot be
/// made into text (its <c>ToString</c> throws), is dropped (never cut) and
/// the first drop of each kind in a request is logged once, as a Warning naming the limit, never the name or the value.
/// A value is kept as it is when it is an immutable scalar (string, number, bool, Guid, dates and times), and as its
/// invariant text otherwise, so a logger that reads the event later sees the value as it was set.
/// </para>
/// <para>Outside a request (no <see cref="RequestContext.Trace"/>) there is nowhere to keep a property: <see cref="Set"/>
/// does nothing and returns <see langword="false"/>. A <see cref="TraceContext"/> the app makes and sets itself keeps
/// properties with the default limits and logs no Warning.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Performance", "CA1822:Mark members as static", Justification = "The API is RequestContext.Properties.Set(...): an accessor of the current request's properties, like a ContextVar.")]
public sealed class RequestProperties
{
    private static readonly object s_key = new();

    internal RequestProperties()
    {
    }

    /// <summary>Sets a property of the current request, replacing a property of the same name.</summary>
    /// <param name="name">The property's name.</param>
    /// <param name="value">Its value.</param>
    /// <returns><see langword="true"/> when the property was set; <see langword="false"/> outside a request, or when it
    /// was dropped (see the remarks on the class).</returns>
    public bool Set(string name, object? value) => Bag(create: true) is { } bag && bag.Set(name, value);

    /// <summary>Reads a property of the current request.</summary>
    /// <param name="name">The property's name.</param>
    /// <param name="value">Its value as kept (see the remarks on the class), or <see langword="null"/>.</param>
    /// <returns>Whether the current request has the property.</returns>
    public bool TryGet(string name, out object? value)
    {
        value = null;
        return Bag(create: false) is { } bag && bag.TryGet(name, out value);
    }

    /// <summary>Removes a property of the current request; later events no longer carry it.</summary>
    /// <param name="name">The property's name.</param>
    /// <returns>Whether the property was there.</returns>
    public bool Remove(string name) => Bag(create: false) is { } bag && bag.Remove(name);

    /// <summary>Returns the current request's properties as they are now, in the order they were first set.</summary>
    /// <returns>An unchanging list; empty outside a request.</returns>
    public IReadOnlyList<KeyValuePair<string, object?>> GetAll() => Bag(create: false)?.Snapshot.Items ?? [];

    /// <summary>The current request's properties, for the suite's log enrichers; <see cref="PropertySnapshot.Empty"/> when none.</summary>
    internal static PropertySnapshot Current => Bag(RequestContext.Trace.Get(), create: false)?.Snapshot ?? PropertySnapshot.Empty;

    private static PropertyBag? Bag(bool create) => Bag(RequestContext.Trace.Get(), create);

    private static PropertyBag? Bag(TraceContext? trace, bool create)
    {
        if (trace is null)
        {
            return null;
        }

        return create
            ? trace.GetOrAddState(s_key, static (trace, _) => new PropertyBag(trace.Settings), 0)
            : trace.TryGetState<PropertyBag>(s_key);
    }
}
