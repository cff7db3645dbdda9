using System.Globalization;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore.Internal.Properties;

/// <summary>
/// The properties of one request (kept as state of its <see cref="TraceContext"/>, so every flow of the request shares
/// them: its tasks, its background work). Writers take a lock and publish a new immutable
/// <see cref="PropertySnapshot"/>; readers (the log enrichers, each event) read the current one without a lock.
/// </summary>
internal sealed class PropertyBag(RequestContextSettings? settings)
{
    private readonly Lock _lock = new();
    private PropertySnapshot _snapshot = PropertySnapshot.Empty;
    private PropertyProblem _logged;

    private int MaxCount => settings?.MaxProperties ?? 32;

    private int MaxLength => settings?.MaxPropertyLength ?? 1024;

    /// <summary>The properties as they are now; never changes once read.</summary>
    public PropertySnapshot Snapshot => Volatile.Read(ref _snapshot);

    public bool Set(string name, object? value)
    {
        if (!PropertyNames.IsValid(name))
        {
            return Refuse(PropertyProblem.InvalidName);
        }

        object? stored;
        try
        {
            stored = Normalize(value);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            return Refuse(PropertyProblem.Unformattable);
        }

        if (stored is string text && text.Length > MaxLength)
        {
            return Refuse(PropertyProblem.TooLong);
        }

        var tooMany = false;
        lock (_lock)
        {
            var items = _snapshot.Items;
            var index = IndexOf(items, name);
            KeyValuePair<string, object?>[] next;
            if (index >= 0)
            {
                next = (KeyValuePair<string, object?>[])items.Clone();
                next[index] = new(name, stored);
            }
            else
            {
                if (items.Length >= MaxCount)
                {
                    tooMany = true;
                    next = items;
                }
                else
                {
                    next = [.. items, new(name, stored)];
                }
            }

            if (!tooMany)
            {
                Volatile.Write(ref _snapshot, new PropertySnapshot(next));
            }
        }

        // Logged outside the lock: a slow sink must not hold up the request's other writers.
        return !tooMany || Refuse(PropertyProblem.TooMany);
    }

    public bool Remove(string name)
    {
        lock (_lock)
        {
            var items = _snapshot.Items;
            var index = IndexOf(items, name);
            if (index < 0)
            {
                return false;
            }

            var next = new KeyValuePair<string, object?>[items.Length - 1];
            Array.Copy(items, next, index);
            Array.Copy(items, index + 1, next, index, items.Length - index - 1);
            Volatile.Write(ref _snapshot, new PropertySnapshot(next));
            return true;
        }
    }

    public bool TryGet(string name, out object? value)
    {
        var items = Snapshot.Items;
        var index = IndexOf(items, name);
        value = index >= 0 ? items[index].Value : null;
        return index >= 0;
    }

    private static int IndexOf(KeyValuePair<string, object?>[] items, string name)
    {
        for (var i = 0; i < items.Length; i++)
        {
            if (string.Equals(items[i].Key, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// What is kept of a value: immutable scalars as they are (so a logger reading the event later sees the value as it
    /// was set), anything else as its invariant text. The one rule for values the suite writes into logs for the app
    /// (request properties, the log enricher's ContextVars).
    /// </summary>
    public static object? Normalize(object? value) => value switch
    {
        null or string or bool or char or byte or sbyte or short or ushort or int or uint or long or ulong or float or double
            or decimal or Guid or DateTime or DateTimeOffset or TimeSpan or DateOnly or TimeOnly => value,
        Enum e => e.ToString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture) ?? throw new FormatException(),
        _ => value.ToString() ?? throw new FormatException(),
    };

    /// <summary>Drops a property, logging once per request and problem why (the limit, never the name or the value).</summary>
    private bool Refuse(PropertyProblem problem)
    {
        bool first;
        lock (_lock)
        {
            first = (_logged & problem) == 0;
            _logged |= problem;
        }

        if (first && settings?.Logger is { } logger)
        {
            var reason = problem switch
            {
                PropertyProblem.TooMany => $"the request already carries {MaxCount} properties (RequestContext:Properties:MaxCount)",
                PropertyProblem.TooLong => $"its value is longer than {MaxLength} characters (RequestContext:Properties:MaxValueLength)",
                PropertyProblem.Unformattable => "its value could not be made into text (its ToString threw or returned null)",
                _ => $"its name is not {PropertyNames.Rule}",
            };
            Log.RequestPropertyDropped(logger, reason);
        }

        return false;
    }
}

/// <summary>One request's properties at one moment; immutable.</summary>
internal sealed class PropertySnapshot(KeyValuePair<string, object?>[] items)
{
    public static readonly PropertySnapshot Empty = new([]);

    public KeyValuePair<string, object?>[] Items { get; } = items;
}

[Flags]
internal enum PropertyProblem
{
    None = 0,
    InvalidName = 1,
    TooLong = 2,
    TooMany = 4,
    Unformattable = 8,
}

/// <summary>The rule for property names: safe as a log property in every pipeline, and none of the suite's own.</summary>
internal static class PropertyNames
{
    public const string Rule = "1 to 64 characters of letters, digits, '_', '.' and '-', starting with a letter or '_', and none of the suite's own names";

    private static readonly HashSet<string> s_reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "RequestId", "ClientRequestId", "TraceId", "SpanId", "ParentId", "UserId", "UserName",
        "Hub", "HubMethod", "HubConnectionId", "ConnectionRequestId", "SourceContext",
    };

    public static bool IsValid(string? name)
    {
        if (name is null || name.Length is 0 or > 64 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return !s_reserved.Contains(name);
    }
}
