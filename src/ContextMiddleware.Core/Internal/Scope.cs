namespace ContextMiddleware.Internal;

/// <summary>
/// The immutable value held by the engine's single <see cref="AsyncLocal{T}"/>: the variables set in the
/// current flow and the <see cref="Context"/> whose <see cref="Context.Run(Action)"/> the flow descends from.
/// </summary>
/// <remarks>
/// Because the value is immutable, ExecutionContext's copy-on-capture semantics give every child task a
/// snapshot for free, and no write made in a child can reach its parent or a sibling.
/// </remarks>
internal sealed class Scope(PersistentMap map, Context? owner)
{
    /// <summary>The variables set in this flow.</summary>
    public readonly PersistentMap Map = map;

    /// <summary>The context entered by <see cref="Context.Run(Action)"/>, or <see langword="null"/> outside any.</summary>
    public readonly Context? Owner = owner;
}
