namespace ContextMiddleware.Sample.Orders;

/// <summary>
/// The classic contextvars example's <c>process_payment</c>, as a call to a payment service over HTTP. The HttpClient was registered with
/// <c>AddRequestContextPropagation()</c>: the payment service receives this request's id and trace.
/// </summary>
internal sealed class PaymentsClient(HttpClient http, ILogger<PaymentsClient> logger)
{
    public async Task<PaymentAuthorization> ProcessPaymentAsync(int orderId, decimal amount, CancellationToken cancellationToken)
    {
        logger.LogInformation("Processing payment of {Amount} for order {OrderId}", amount, orderId);
        using var response = await http.PostAsJsonAsync("/payments", new PaymentRequest(orderId, amount), cancellationToken);
        response.EnsureSuccessStatusCode();
        var authorization = await response.Content.ReadFromJsonAsync<PaymentAuthorization>(cancellationToken)
            ?? throw new InvalidOperationException("The payment service answered without a body.");
        logger.LogInformation("Payment {PaymentId} authorized", authorization.PaymentId);
        return authorization;
    }
}
