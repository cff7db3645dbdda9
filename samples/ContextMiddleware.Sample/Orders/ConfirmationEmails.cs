namespace ContextMiddleware.Sample.Orders;

/// <summary>
/// The background job: queued by a request, run by the queue's hosted service after the response has been sent, and
/// still logging that request's id, trace id and user.
/// </summary>
internal sealed class ConfirmationEmails(ILogger<ConfirmationEmails> logger)
{
    public async Task SendAsync(int orderId, string customer, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        logger.LogInformation("Sent the confirmation email of order {OrderId} to {Customer}", orderId, customer);
    }
}
