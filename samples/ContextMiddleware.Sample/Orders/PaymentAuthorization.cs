namespace ContextMiddleware.Sample.Orders;

/// <summary>The answer of <c>POST /payments</c>.</summary>
internal sealed record PaymentAuthorization(string PaymentId);
