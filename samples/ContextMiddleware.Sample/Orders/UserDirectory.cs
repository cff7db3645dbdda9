using ContextMiddleware.AspNetCore;

namespace ContextMiddleware.Sample.Orders;

/// <summary>The classic contextvars example's <c>fetch_user_data</c>: reads the current user without being handed anything.</summary>
internal sealed class UserDirectory(ICurrentUser user, ILogger<UserDirectory> logger)
{
    public async Task<string> FetchUserDataAsync(CancellationToken cancellationToken)
    {
        var customer = user.IsAuthenticated ? user.Name ?? user.Id ?? "unnamed" : "guest";
        logger.LogInformation("Fetching data for {Customer}", customer);
        await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);   // the Python example's asyncio.sleep(0.1)
        return customer;
    }
}
