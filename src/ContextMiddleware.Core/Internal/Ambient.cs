namespace ContextMiddleware.Internal;

/// <summary>The one ambient slot behind every <see cref="ContextVar{T}"/>.</summary>
internal static class Ambient
{
    /// <summary>
    /// The current flow's scope; <see langword="null"/> means "nothing set" (the state of a new thread under
    /// <see cref="ExecutionContext.SuppressFlow"/>, and of the default ExecutionContext).
    /// </summary>
    public static readonly AsyncLocal<Scope?> Current = new();

    /// <summary>The context whose <c>Run</c> is executing synchronously on this thread, if any.</summary>
    [ThreadStatic]
    public static Context? Running;
}
