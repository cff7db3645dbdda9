using ContextMiddleware.AspNetCore;

namespace ContextMiddleware.Sample.Orders;

/// <summary>
/// The classic contextvars example's <c>handle_request</c>: fetches the user's data, processes the payment, reserves the items in parallel
/// and queues a confirmation email. No method takes a request id; every log line still shows the right one.
/// </summary>
internal sealed class OrderService(
    UserDirectory users,
    PaymentsClient payments,
    InventoryService inventory,
    ConfirmationEmails emails,
    IBackgroundWorkQueue jobs,
    IRequestContext request,
    ILogger<OrderService> logger)
{
    private static readonly string[] Items = ["book", "lamp", "mug"];

    public async Task<OrderReceipt> PlaceOrderAsync(int orderId, CancellationToken cancellationToken)
    {
        logger.LogInformation("Handling order {OrderId}", orderId);

        var customer = await users.FetchUserDataAsync(cancellationToken);                 // nested async call
        var amount = 10.50m + orderId % 90;
        var payment = await payments.ProcessPaymentAsync(orderId, amount, cancellationToken); // outgoing HTTP call
        var reserved = await inventory.ReserveAsync(orderId, Items, cancellationToken);   // Task.WhenAll, in parallel

        // Runs after the response has been sent, in a copy of this request's context.
        await jobs.QueueAsync(token => emails.SendAsync(orderId, customer, token), cancellationToken);

        logger.LogInformation("Order {OrderId} completed", orderId);
        return new OrderReceipt(orderId, customer, payment.PaymentId, reserved, request.RequestId, request.TraceId);
    }
}
