using System.Runtime.CompilerServices;
using ContextMiddleware.AspNetCore;
using Microsoft.AspNetCore.SignalR;

namespace ContextMiddleware.Sample.Orders;

/// <summary>
/// Pushes an order's status to the client over SignalR, as a stream. With <c>AddSignalR().AddRequestContext()</c>
/// every <c>Track</c> invocation runs in a request context of its own, for the whole stream: its own request id and
/// trace, the connection's user, and on its log lines the hub, the method and the connect request's id.
/// </summary>
internal sealed class OrderStatusHub(ILogger<OrderStatusHub> logger) : Hub
{
    private static readonly string[] Statuses = ["received", "packed", "shipped"];

    public async IAsyncEnumerable<OrderStatus> Track(int orderId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        logger.LogInformation("Tracking order {OrderId}", orderId);
        foreach (var status in Statuses)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            logger.LogInformation("Order {OrderId} is {Status}", orderId, status);
            yield return new OrderStatus(orderId, status, RequestContext.RequestId.Get());
        }
    }
}

/// <summary>One status of an order, pushed by <see cref="OrderStatusHub"/>, with the id of the invocation that pushed it.</summary>
internal sealed record OrderStatus(int OrderId, string Status, string? RequestId);
