using System.Diagnostics;
using ContextMiddleware.Internal;

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

    /// <summary>
    /// Sets two variables in the current context with a single ExecutionContext write; two
    /// <see cref="ContextVar{T}.Set"/> calls would make two.
    /// </summary>
    /// <typeparam name="T1">The type of the first variable's values.</typeparam>
    /// <typeparam name="T2">The type of the second variable's values.</typeparam>
    /// <param name="first">The first variable.</param>
    /// <param name="firstValue">Its new value.</param>
    /// <param name="second">The second variable.</param>
    /// <param name="secondValue">Its new value.</param>
    /// <remarks>
    /// No token is returned: use it where the values live as long as the enclosing <see langword="async"/> method,
    /// as in middleware (.NET restores the caller's values when an async method returns), or inside
    /// <see cref="Context.Run(Action)"/>.
    /// </remarks>
    /// <exception cref="ArgumentNullException">A variable is <see langword="null"/>.</exception>
    public static void SetMany<T1, T2>(ContextVar<T1> first, T1 firstValue, ContextVar<T2> second, T2 secondValue)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        SetMany([new TrieNode.Entry(first, firstValue), new TrieNode.Entry(second, secondValue)]);
    }

    /// <summary>Sets three variables in the current context with a single ExecutionContext write.</summary>
    /// <typeparam name="T1">The type of the first variable's values.</typeparam>
    /// <typeparam name="T2">The type of the second variable's values.</typeparam>
    /// <typeparam name="T3">The type of the third variable's values.</typeparam>
    /// <param name="first">The first variable.</param>
    /// <param name="firstValue">Its new value.</param>
    /// <param name="second">The second variable.</param>
    /// <param name="secondValue">Its new value.</param>
    /// <param name="third">The third variable.</param>
    /// <param name="thirdValue">Its new value.</param>
    /// <remarks>See <see cref="SetMany{T1, T2}"/>.</remarks>
    /// <exception cref="ArgumentNullException">A variable is <see langword="null"/>.</exception>
    public static void SetMany<T1, T2, T3>(
        ContextVar<T1> first, T1 firstValue, ContextVar<T2> second, T2 secondValue, ContextVar<T3> third, T3 thirdValue)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(third);
        SetMany([new TrieNode.Entry(first, firstValue), new TrieNode.Entry(second, secondValue), new TrieNode.Entry(third, thirdValue)]);
    }

    /// <summary>Sets four variables in the current context with a single ExecutionContext write.</summary>
    /// <typeparam name="T1">The type of the first variable's values.</typeparam>
    /// <typeparam name="T2">The type of the second variable's values.</typeparam>
    /// <typeparam name="T3">The type of the third variable's values.</typeparam>
    /// <typeparam name="T4">The type of the fourth variable's values.</typeparam>
    /// <param name="first">The first variable.</param>
    /// <param name="firstValue">Its new value.</param>
    /// <param name="second">The second variable.</param>
    /// <param name="secondValue">Its new value.</param>
    /// <param name="third">The third variable.</param>
    /// <param name="thirdValue">Its new value.</param>
    /// <param name="fourth">The fourth variable.</param>
    /// <param name="fourthValue">Its new value.</param>
    /// <remarks>See <see cref="SetMany{T1, T2}"/>.</remarks>
    /// <exception cref="ArgumentNullException">A variable is <see langword="null"/>.</exception>
    public static void SetMany<T1, T2, T3, T4>(
        ContextVar<T1> first, T1 firstValue, ContextVar<T2> second, T2 secondValue,
        ContextVar<T3> third, T3 thirdValue, ContextVar<T4> fourth, T4 fourthValue)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        ArgumentNullException.ThrowIfNull(third);
        ArgumentNullException.ThrowIfNull(fourth);
        SetMany(
        [
            new TrieNode.Entry(first, firstValue), new TrieNode.Entry(second, secondValue),
            new TrieNode.Entry(third, thirdValue), new TrieNode.Entry(fourth, fourthValue),
        ]);
    }

    private static void SetMany(ReadOnlySpan<TrieNode.Entry> items) =>
        Ambient.Current.Value = (Ambient.Current.Value ?? Scope.Empty).SetItems(items);

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
