namespace ContextMiddleware.Sample.Orders;

/// <summary>The body of <c>POST /payments</c>.</summary>
internal sealed record PaymentRequest(int OrderId, decimal Amount);
