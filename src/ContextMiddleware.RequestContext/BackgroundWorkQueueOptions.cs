namespace ContextMiddleware.AspNetCore;

/// <summary>Options of the <see cref="IBackgroundWorkQueue"/> that <c>AddRequestContextBackgroundQueue()</c> adds.</summary>
public sealed class BackgroundWorkQueueOptions
{
    /// <summary>Gets or sets how many items may wait; queueing waits while the queue is full.</summary>
    /// <value>Default: 1000.</value>
    public int Capacity { get; set; } = 1000;

    /// <summary>Gets or sets how many items run at the same time.</summary>
    /// <value>Default: 1 (one at a time, in the order queued).</value>
    public int MaxConcurrency { get; set; } = 1;

    /// <summary>
    /// Gets or sets how long an item may run: then its token is cancelled, a Warning is logged with its request's ids,
    /// and the queue stops waiting for it and goes on with the next item, so that one hung item cannot block the rest.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.
    /// </summary>
    /// <value>Default: 1 minute.</value>
    public TimeSpan ItemTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
