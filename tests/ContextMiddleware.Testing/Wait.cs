namespace ContextMiddleware.Testing;

/// <summary>Waiting for something a test cannot await (a log event written after the response, a job that ran).</summary>
public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds.</summary>
    /// <param name="condition">What must come true.</param>
    /// <param name="seconds">How long to wait before failing.</param>
    /// <param name="what">What is awaited, for the failure's message.</param>
    /// <exception cref="TimeoutException"><paramref name="condition"/> did not hold in time.</exception>
    public static async Task UntilAsync(Func<bool> condition, int seconds = 10, string what = "the condition")
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException($"Timed out after {seconds} s waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }
}
