namespace ContextMiddleware.Distributed.Jobs;

/// <summary>
/// The order's confirmation, a Hangfire job: enqueued by the API during the request, performed by the jobs process,
/// where its lines carry that request's id and trace (ContextMiddleware.Hangfire's filter), none of them passed in.
/// </summary>
internal sealed class ConfirmationJob(ILogger<ConfirmationJob> logger)
{
    public async Task SendAsync(int orderId)
    {
        logger.LogInformation(LogTemplates.Sending, orderId);
        await Task.Delay(TimeSpan.FromMilliseconds(50));   // the mail server
        logger.LogInformation(LogTemplates.Sent, orderId);
    }
}
