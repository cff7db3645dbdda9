namespace ContextMiddleware.Sample.Orders;

/// <summary>The answer of <c>GET /orders/{id}</c>.</summary>
internal sealed record OrderReceipt(
    int OrderId,
    string Customer,
    string PaymentId,
    IReadOnlyList<string> Reserved,
    string RequestId,
    string TraceId);
