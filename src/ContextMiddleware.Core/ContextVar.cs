using System.Diagnostics;

namespace ContextMiddleware;

/// <summary>
/// A context variable: the non-generic face of <see cref="ContextVar{T}"/>, used as the key type of
/// <see cref="Context"/>. The .NET counterpart of Python's <c>contextvars.ContextVar</c> (PEP 567).
/// </summary>
/// <remarks>
/// Only <see cref="ContextVar{T}"/> derives from this class. Variables are compared by reference: two
/// variables with the same <see cref="Name"/> are still two different variables.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public abstract class ContextVar
{
    private static int s_sequence;

    private protected ContextVar(string name, bool hasDefault, uint? hash)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        HasDefault = hasDefault;

        // A bijective mix of a sequence number: distinct for the first 2^32 variables, and spread over all bits
        // so that the trie stays shallow. Tests pass an explicit hash to force collisions.
        Hash = hash ?? unchecked((uint)Interlocked.Increment(ref s_sequence) * 0x9E3779B1u);
    }

    /// <summary>Gets the variable's name, for diagnostics only.</summary>
    public string Name { get; }

    /// <summary>Gets a value indicating whether the variable was created with a default value.</summary>
    public bool HasDefault { get; }

    /// <summary>Gets the type of the variable's values.</summary>
    public abstract Type ValueType { get; }

    /// <summary>The variable's hash in the context map.</summary>
    internal uint Hash { get; }

    /// <summary>Gets the default value, boxed; <see langword="null"/> when there is none.</summary>
    private protected abstract object? BoxedDefault { get; }

    /// <summary>Returns a description such as <c>&lt;ContextVar name='request_id' default='none'&gt;</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        HasDefault
            ? $"<ContextVar name='{Name}' default={FormatValue(BoxedDefault)}>"
            : $"<ContextVar name='{Name}'>";

    private static string FormatValue(object? value) => value switch
    {
        null => "null",
        string text => $"'{text}'",
        _ => value.ToString() ?? string.Empty,
    };
}
