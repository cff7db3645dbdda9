namespace ContextMiddleware.Distributed;

/// <summary>The message the API publishes for an order (JSON). It carries no id: the ids travel in its headers.</summary>
internal sealed record OrderPlaced(int OrderId);
