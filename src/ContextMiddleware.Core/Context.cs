using System.Collections;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using ContextMiddleware.Internal;

namespace ContextMiddleware;

/// <summary>
/// A mapping of context variables to their values: the .NET counterpart of Python's
/// <c>contextvars.Context</c> (PEP 567). Take a snapshot of the current values with <see cref="CopyCurrent"/>,
/// and run code inside a context with <see cref="Run(Action)"/>.
/// </summary>
/// <remarks>
/// <para>
/// The mapping lists only values that were set, never defaults. A context is a snapshot: sets made in the
/// current flow after <see cref="CopyCurrent"/> do not change it. Sets made inside <see cref="Run(Action)"/>
/// change the context that is run, and are visible through the mapping during the run and afterwards.
/// </para>
/// <para>
/// Copying is O(1): a context shares its immutable trie with the flow it was copied from. Entering is cheapest when
/// a context is run again from the same caller with unchanged values: it reuses the ExecutionContext it built for that
/// caller, held only through a weak reference (so it lasts until the next garbage collection). A context never keeps
/// its caller's ExecutionContext, or the caller's <see cref="AsyncLocal{T}"/> values, alive once <c>Run</c> returns.
/// </para>
/// </remarks>
[DebuggerDisplay("Count = {Count}")]
[SuppressMessage("Naming", "CA1710:Identifiers should have correct suffix", Justification = "Named after Python's contextvars.Context.")]
public sealed class Context : IReadOnlyDictionary<ContextVar, object?>
{
    private Scope _scope;
    private int _entered;

    // Entering again from the same caller ExecutionContext, with the same values, reuses the ExecutionContext built
    // then: entering costs two ExecutionContext.Restore calls instead of an AsyncLocal write. The pair is held by a weak
    // reference only, so a context never keeps its caller, or the caller's AsyncLocal values, alive: the pair goes with
    // the next garbage collection, and is made again on the next run. The weak reference is made on a second run from
    // the same caller (remembered until then by its hash code, not by reference), so a context run once costs none.
    // Only touched while entered, so guarded by _entered.
    private WeakReference<EnteredFrom>? _last;
    private int _lastCallerHash;

    /// <summary>Creates a new, empty context (Python's <c>contextvars.Context()</c>).</summary>
    public Context()
        : this(Scope.Empty)
    {
    }

    private Context(Scope scope)
    {
        _scope = scope;
    }

    /// <summary>Gets the number of variables set in this context.</summary>
    public int Count => Map.Count;

    /// <summary>Gets the variables set in this context.</summary>
    public IEnumerable<ContextVar> Keys => Map.Enumerate().Select(static entry => entry.Key);

    /// <summary>Gets the values of the variables set in this context, boxed.</summary>
    public IEnumerable<object?> Values => Map.Enumerate().Select(static entry => entry.Value);

    /// <summary>
    /// The current mapping: while this context is entered and read from within its run, the live values of the
    /// running flow; otherwise the values stored in the context.
    /// </summary>
    private Scope Map =>
        Volatile.Read(ref _entered) != 0 && Ambient.Current.Value is { } scope && ReferenceEquals(scope.Owner, this)
            ? scope
            : Volatile.Read(ref _scope);

    /// <summary>Gets the value of a variable set in this context, boxed.</summary>
    /// <param name="key">The variable.</param>
    /// <returns>The value.</returns>
    /// <exception cref="KeyNotFoundException">The variable is not set in this context (its default does not count).</exception>
    public object? this[ContextVar key]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(key);
            return Map.TryGetValue(key, out var value)
                ? value
                : throw new KeyNotFoundException($"The context variable '{key.Name}' is not set in this context.");
        }
    }

    /// <summary>Returns a copy of the current execution context's variables (Python's <c>copy_context()</c>). O(1).</summary>
    /// <returns>A new context holding the values set in the current flow.</returns>
    public static Context CopyCurrent() => new(Ambient.Current.Value ?? Scope.Empty);

    /// <summary>Returns a shallow copy of this context (Python's <c>ctx.copy()</c>). O(1).</summary>
    /// <returns>A new context with the same values.</returns>
    public Context Copy() => new(Map);

    /// <summary>
    /// Runs <paramref name="action"/> inside this context (Python's <c>ctx.run(callable)</c>): inside, every
    /// <see cref="ContextVar{T}.Get()"/> sees this context's values and every <see cref="ContextVar{T}.Set"/>
    /// changes this context. The caller's values are restored exactly afterwards, also when
    /// <paramref name="action"/> throws.
    /// </summary>
    /// <param name="action">The code to run.</param>
    /// <exception cref="ArgumentNullException"><paramref name="action"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">This context is already entered, on this thread or another.</exception>
    /// <remarks>
    /// <para>
    /// Like <see cref="ExecutionContext.Run"/>, leaving the context restores the caller's whole
    /// <see cref="ExecutionContext"/>: any <see cref="AsyncLocal{T}"/> the callback changed is restored too.
    /// </para>
    /// <para>
    /// The run is synchronous. Tasks started inside it begin from a snapshot of this context, and their sets
    /// stay in that snapshot; so do the continuations of an asynchronous callback that run after
    /// <see cref="Run{TResult}(Func{TResult})"/> returned.
    /// </para>
    /// </remarks>
    public void Run(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var frame = Enter();
        try
        {
            action();
        }
        finally
        {
            Exit(frame);
        }
    }

    /// <summary>
    /// Runs <paramref name="func"/> inside this context and returns its result; see <see cref="Run(Action)"/>.
    /// </summary>
    /// <typeparam name="TResult">The type of the result.</typeparam>
    /// <param name="func">The code to run.</param>
    /// <returns>What <paramref name="func"/> returned.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="func"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">This context is already entered, on this thread or another.</exception>
    public TResult Run<TResult>(Func<TResult> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        var frame = Enter();
        try
        {
            return func();
        }
        finally
        {
            Exit(frame);
        }
    }

    /// <summary>Gets the value of <paramref name="var"/> set in this context; its default does not count.</summary>
    /// <typeparam name="T">The type of the variable's values.</typeparam>
    /// <param name="var">The variable.</param>
    /// <param name="value">The value, or <see langword="default"/> when the variable is not set.</param>
    /// <returns><see langword="true"/> when the variable is set in this context.</returns>
    public bool TryGetValue<T>(ContextVar<T> var, out T value)
    {
        ArgumentNullException.ThrowIfNull(var);
        if (Map.TryGetValue(var, out var boxed))
        {
            value = ContextVar<T>.Unbox(boxed);
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>Gets the value of a variable set in this context, boxed; its default does not count.</summary>
    /// <param name="key">The variable.</param>
    /// <param name="value">The value, or <see langword="null"/> when the variable is not set.</param>
    /// <returns><see langword="true"/> when the variable is set in this context.</returns>
    public bool TryGetValue(ContextVar key, [MaybeNullWhen(false)] out object? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Map.TryGetValue(key, out value);
    }

    /// <summary>Determines whether a variable is set in this context; its default does not count.</summary>
    /// <param name="key">The variable.</param>
    /// <returns><see langword="true"/> when the variable is set in this context.</returns>
    public bool ContainsKey(ContextVar key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Map.TryGetValue(key, out _);
    }

    /// <summary>Enumerates the variables set in this context and their values, boxed.</summary>
    /// <returns>An enumerator over a snapshot of the mapping.</returns>
    public IEnumerator<KeyValuePair<ContextVar, object?>> GetEnumerator() => Map.Enumerate().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private Frame Enter()
    {
        if (Interlocked.CompareExchange(ref _entered, 1, 0) != 0)
        {
            throw new InvalidOperationException(
                "Cannot enter the context: it is already entered, on this thread or another. " +
                "Use Copy() to run the same values concurrently.");
        }

        var outer = Ambient.Running;
        if (outer is not null && Ambient.Current.Value is { } callerScope && ReferenceEquals(callerScope.Owner, outer))
        {
            // Entering a context from inside another one's run: store the outer context's values so far, so that
            // reading the outer mapping from in here shows them (it is live in CPython).
            Volatile.Write(ref outer._scope, callerScope);
        }

        var scope = _scope;
        if (!ReferenceEquals(scope.Owner, this))
        {
            _scope = scope = scope.WithOwner(this);
        }

        var caller = ExecutionContext.Capture();
        if (caller is null)
        {
            // Flow is suppressed: switch our slot alone, and restore it alone on exit.
            var frame = new Frame(null, null, Ambient.Current.Value, outer);
            Ambient.Current.Value = scope;
            Ambient.Running = this;
            return frame;
        }

        ExecutionContext entered;
        if (_last is { } weak && weak.TryGetTarget(out var last) && ReferenceEquals(last.Caller, caller) && ReferenceEquals(last.Scope, scope))
        {
            entered = last.Entered;
            ExecutionContext.Restore(entered);
        }
        else
        {
            Ambient.Current.Value = scope;
            entered = ExecutionContext.Capture()!;
            Remember(caller, scope, entered);
        }

        Ambient.Running = this;
        return new Frame(caller, entered, null, outer);
    }

    private void Exit(in Frame frame)
    {
        // Unchanged ExecutionContext: nothing was set, nothing to store.
        if ((frame.Entered is null || !ReferenceEquals(ExecutionContext.Capture(), frame.Entered)) &&
            Ambient.Current.Value is { } scope && ReferenceEquals(scope.Owner, this))
        {
            Volatile.Write(ref _scope, scope);
        }

        if (frame.Caller is { } caller)
        {
            ExecutionContext.Restore(caller);
        }
        else
        {
            Ambient.Current.Value = frame.CallerScope;
        }

        Ambient.Running = frame.Outer;
        Volatile.Write(ref _entered, 0);
    }

    private readonly record struct Frame(ExecutionContext? Caller, ExecutionContext? Entered, Scope? CallerScope, Context? Outer);

    /// <summary>Remembers the ExecutionContext built for <paramref name="caller"/>, from its second run on.</summary>
    private void Remember(ExecutionContext caller, Scope scope, ExecutionContext entered)
    {
        var callerHash = RuntimeHelpers.GetHashCode(caller);
        if (_last is not null)
        {
            _last.SetTarget(new EnteredFrom(caller, scope, entered));
        }
        else if (callerHash == _lastCallerHash)
        {
            _last = new WeakReference<EnteredFrom>(new EnteredFrom(caller, scope, entered));
        }

        _lastCallerHash = callerHash;
    }

    /// <summary>The ExecutionContext built to enter the context with <see cref="Scope"/> from <see cref="Caller"/>.</summary>
    private sealed record EnteredFrom(ExecutionContext Caller, Scope Scope, ExecutionContext Entered);
}
