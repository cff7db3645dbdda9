namespace ContextMiddleware.Sample.Orders;

/// <summary>Reserves an order's items in parallel: each branch of the <c>Task.WhenAll</c> logs its request's id.</summary>
internal sealed class InventoryService(ILogger<InventoryService> logger)
{
    public async Task<IReadOnlyList<string>> ReserveAsync(int orderId, IReadOnlyList<string> items, CancellationToken cancellationToken)
    {
        var reservations = await Task.WhenAll(items.Select(item => ReserveOneAsync(orderId, item, cancellationToken)));
        return reservations;
    }

    private async Task<string> ReserveOneAsync(int orderId, string item, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(5, 30)), cancellationToken);
        logger.LogInformation("Reserved {Item} for order {OrderId}", item, orderId);
        return $"{item}-{orderId}";
    }
}
