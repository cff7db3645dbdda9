using System.Diagnostics;
using ContextMiddleware.Internal;

namespace ContextMiddleware;

/// <summary>
/// Returned by <see cref="ContextVar{T}.Set"/>: remembers the variable's previous value so that
/// <see cref="ContextVar{T}.Reset(ContextToken{T})"/> can restore it (Python's <c>contextvars.Token</c>).
/// </summary>
/// <typeparam name="T">The type of the variable's values.</typeparam>
/// <remarks>
/// A token can be used once. Disposing it resets the variable, so <c>using var _ = var.Set(value);</c> scopes a
/// value to a block, the counterpart of Python's <c>try: … finally: var.reset(token)</c>.
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public sealed class ContextToken<T> : IDisposable
{
    private int _used;

    internal ContextToken(
        ContextVar<T> var, Scope? previousScope, Scope newScope, ExecutionContext? before, ExecutionContext? after)
    {
        Var = var;
        PreviousScope = previousScope;
        NewScope = newScope;
        ExecutionContextBefore = before;
        ExecutionContextAfter = after;
    }

    /// <summary>Gets the variable whose <see cref="ContextVar{T}.Set"/> created this token (Python's <c>token.var</c>).</summary>
    public ContextVar<T> Var { get; }

    /// <summary>
    /// Gets a value indicating whether the variable had a value before the <see cref="ContextVar{T}.Set"/>;
    /// <see langword="false"/> is Python's <c>Token.MISSING</c>, and resetting then unsets the variable.
    /// </summary>
    public bool HasOldValue => PreviousScope is { } previous && previous.TryGetValue(Var, out _);

    /// <summary>
    /// Gets the value the variable had before the <see cref="ContextVar{T}.Set"/> (Python's <c>token.old_value</c>);
    /// <see langword="default"/> when <see cref="HasOldValue"/> is <see langword="false"/>.
    /// </summary>
    public T OldValue =>
        PreviousScope is { } previous && previous.TryGetValue(Var, out var value) ? ContextVar<T>.Unbox(value) : default!;

    /// <summary>The scope current before the Set (null when nothing was set).</summary>
    internal Scope? PreviousScope { get; }

    /// <summary>The scope the Set produced; its owner is the context the token was created in.</summary>
    internal Scope NewScope { get; }

    /// <summary>The ExecutionContext before the Set (null when flow was suppressed).</summary>
    internal ExecutionContext? ExecutionContextBefore { get; }

    /// <summary>The ExecutionContext the Set produced (null when flow was suppressed).</summary>
    internal ExecutionContext? ExecutionContextAfter { get; }

    internal bool IsUsed => Volatile.Read(ref _used) != 0;

    /// <summary>Resets the variable to its previous value; does nothing when the token was already used.</summary>
    /// <exception cref="ArgumentException">The token was created in a different <see cref="ContextMiddleware.Context"/>.</exception>
    public void Dispose() => Var.Reset(this, fromDispose: true);

    /// <summary>Returns a description of the token, like Python's <c>&lt;Token var=… used=…&gt;</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"<Token{(IsUsed ? " used" : string.Empty)} var={Var}>";

    internal bool TryMarkUsed() => Interlocked.Exchange(ref _used, 1) == 0;
}
