using System.Runtime.CompilerServices;
using ContextMiddleware.Internal;

namespace ContextMiddleware;

/// <summary>
/// A variable whose value is local to the current execution context: the .NET counterpart of Python's
/// <c>contextvars.ContextVar</c> (PEP 567). Create it once, as a <see langword="static readonly"/> field, and
/// read or write it from anywhere in a flow of execution without passing it around.
/// </summary>
/// <typeparam name="T">The type of the variable's values.</typeparam>
/// <remarks>
/// <para>
/// Values flow the way <see cref="ExecutionContext"/> flows: a value set before an <see langword="await"/> is
/// seen after it; <see cref="Task.Run(Action)"/>, <see cref="Task.WhenAll(Task[])"/> children and new threads
/// start from a snapshot of their parent's values, and their writes never reach the parent or a sibling.
/// A value set inside an awaited <see langword="async"/> method is not visible to its caller once the method
/// returns (Python would show it). Under <see cref="ExecutionContext.SuppressFlow"/> a child sees only defaults.
/// </para>
/// <para>
/// Every variable lives in one persistent hash array mapped trie held by a single <see cref="AsyncLocal{T}"/>,
/// so a write costs O(log n) however many variables are set, and <see cref="Context.CopyCurrent"/> is O(1).
/// </para>
/// </remarks>
public sealed class ContextVar<T> : ContextVar
{
    private readonly T _defaultValue;

    /// <summary>Creates a variable without a default value: <see cref="Get()"/> throws until it is set.</summary>
    /// <param name="name">The variable's name, for diagnostics.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public ContextVar(string name)
        : base(name, hasDefault: false, hash: null)
    {
        _defaultValue = default!;
    }

    /// <summary>Creates a variable with a default value, returned by <see cref="Get()"/> while it is not set.</summary>
    /// <param name="name">The variable's name, for diagnostics.</param>
    /// <param name="defaultValue">The value <see cref="Get()"/> returns while the variable is not set.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public ContextVar(string name, T defaultValue)
        : base(name, hasDefault: true, hash: null)
    {
        _defaultValue = defaultValue;
    }

    /// <summary>Creates a variable with a chosen hash, so that tests can force collisions in the trie.</summary>
    internal ContextVar(string name, uint hash)
        : base(name, hasDefault: false, hash)
    {
        _defaultValue = default!;
    }

    /// <inheritdoc />
    public override Type ValueType => typeof(T);

    private protected override object? BoxedDefault => HasDefault ? _defaultValue : null;

    /// <summary>
    /// Returns the variable's value in the current context: the value set, else the default (Python's
    /// <c>var.get()</c>).
    /// </summary>
    /// <returns>The current value.</returns>
    /// <exception cref="KeyNotFoundException">The variable is not set and has no default (Python's <c>LookupError</c>).</exception>
    public T Get()
    {
        if (Ambient.Current.Value is { } scope && scope.TryGetValue(this, out var value))
        {
            return Unbox(value);
        }

        if (HasDefault)
        {
            return _defaultValue;
        }

        throw new KeyNotFoundException($"The context variable '{Name}' has no value in the current context and no default.");
    }

    /// <summary>
    /// Returns the variable's value in the current context, else <paramref name="fallback"/> (Python's
    /// <c>var.get(default)</c>: the fallback wins over the variable's own default).
    /// </summary>
    /// <param name="fallback">The value to return when the variable is not set.</param>
    /// <returns>The current value or <paramref name="fallback"/>.</returns>
    public T Get(T fallback) =>
        Ambient.Current.Value is { } scope && scope.TryGetValue(this, out var value) ? Unbox(value) : fallback;

    /// <summary>Gets the value set in the current context; the default does not count.</summary>
    /// <param name="value">The value set, or <see langword="default"/> when the variable is not set.</param>
    /// <returns><see langword="true"/> when the variable is set in the current context.</returns>
    public bool TryGet(out T value)
    {
        if (Ambient.Current.Value is { } scope && scope.TryGetValue(this, out var boxed))
        {
            value = Unbox(boxed);
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// Sets the variable's value in the current context (Python's <c>var.set(value)</c>) and returns a token
    /// that <see cref="Reset(ContextToken{T})"/> (or disposing the token) uses to restore the previous value.
    /// </summary>
    /// <param name="value">The new value.</param>
    /// <returns>A token that restores the previous value.</returns>
    public ContextToken<T> Set(T value)
    {
        var current = Ambient.Current.Value;
        var next = (current ?? Scope.Empty).SetItem(this, value);
        var before = ExecutionContext.Capture();
        Ambient.Current.Value = next;
        return new ContextToken<T>(this, current, next, before, before is null ? null : ExecutionContext.Capture());
    }

    /// <summary>
    /// Restores the variable to the value it had before the <see cref="Set"/> that returned
    /// <paramref name="token"/>, or unsets it if it had none (Python's <c>var.reset(token)</c>).
    /// </summary>
    /// <param name="token">The token returned by <see cref="Set"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">The token was already used (Python's <c>RuntimeError</c>).</exception>
    /// <exception cref="ArgumentException">
    /// The token was created by another variable, or in another <see cref="Context"/> (Python's <c>ValueError</c>).
    /// </exception>
    public void Reset(ContextToken<T> token)
    {
        ArgumentNullException.ThrowIfNull(token);
        Reset(token, fromDispose: false);
    }

    /// <summary>Resets; from <see cref="ContextToken{T}.Dispose"/> a used token is a no-op instead of an error.</summary>
    internal void Reset(ContextToken<T> token, bool fromDispose)
    {
        if (token.IsUsed)
        {
            if (fromDispose)
            {
                return;
            }

            throw UsedTokenError();
        }

        if (!ReferenceEquals(token.Var, this))
        {
            throw new ArgumentException(
                $"The token was created by context variable '{token.Var.Name}', not by '{Name}'.", nameof(token));
        }

        // Fast path: nothing changed since the Set (no AsyncLocal at all), so the ExecutionContext from before it is
        // exactly the one to go back to, and restoring it costs no allocation.
        if (token.ExecutionContextAfter is { } after && ReferenceEquals(ExecutionContext.Capture(), after))
        {
            if (!Claim(token, fromDispose))
            {
                return;
            }

            ExecutionContext.Restore(token.ExecutionContextBefore!);
            return;
        }

        var current = Ambient.Current.Value;
        if (!ReferenceEquals(current?.Owner, token.NewScope.Owner))
        {
            throw new ArgumentException(
                $"The token for context variable '{Name}' was created in a different Context.", nameof(token));
        }

        if (!Claim(token, fromDispose))
        {
            return;
        }

        if (ReferenceEquals(current, token.NewScope))
        {
            // Our variables are as the Set left them (another AsyncLocal changed): the scope before it holds
            // exactly the values Reset must produce.
            Ambient.Current.Value = token.PreviousScope;
            return;
        }

        current ??= Scope.Empty;
        Ambient.Current.Value = token.PreviousScope is { } previous && previous.TryGetValue(this, out var oldValue)
            ? current.SetItem(this, oldValue)
            : current.Remove(this);
    }

    /// <summary>Marks the token used; false (from Dispose) or an exception when it already was.</summary>
    private bool Claim(ContextToken<T> token, bool fromDispose) =>
        token.TryMarkUsed() || (fromDispose ? false : throw UsedTokenError());

    private InvalidOperationException UsedTokenError() =>
        new($"The token for context variable '{Name}' has already been used once.");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static T Unbox(object? value) =>
        typeof(T).IsValueType ? (T)value! : Unsafe.As<object?, T>(ref value);
}
