using Microsoft.AspNetCore.Http.HttpResults;

namespace ContextMiddleware.Sample.Orders;

/// <summary>
/// <c>POST /payments</c>: the "payment service". In a real system it is another app; here it is an endpoint of this
/// one, reached over HTTP, so its log lines show what another service would see: the caller's request id and trace id
/// (carried by <c>X-Request-ID</c> and <c>traceparent</c>), a span of its own, and no user (credentials are not context).
/// </summary>
internal static class PaymentsEndpoint
{
    public static Results<Ok<PaymentAuthorization>, ValidationProblem> Authorize(
        PaymentRequest payment, ILoggerFactory loggers)
    {
        if (payment.Amount <= 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["amount"] = ["The amount must be positive."],
            });
        }

        var logger = loggers.CreateLogger(typeof(PaymentsEndpoint).FullName!);
        logger.LogInformation("Authorizing payment of {Amount} for order {OrderId}", payment.Amount, payment.OrderId);
        return TypedResults.Ok(new PaymentAuthorization($"pay-{Guid.NewGuid():N}"[..12]));
    }
}
