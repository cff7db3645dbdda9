using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore;

/// <summary>Options of the <see cref="IBackgroundWorkQueue"/> that <c>AddRequestContextBackgroundQueue()</c> adds.</summary>
public sealed class BackgroundWorkQueueOptions
{
    /// <summary>Gets or sets how many items may wait; queueing waits while the queue is full.</summary>
    /// <value>Default: 1000. At least 1.</value>
    [AtLeast(1, ErrorMessage = "RequestContext:BackgroundWorkQueue:Capacity must be at least 1.")]
    public int Capacity { get; set; } = 1000;

    /// <summary>Gets or sets how many items run at the same time.</summary>
    /// <value>Default: 1 (one at a time, in the order queued). At least 1.</value>
    [AtLeast(1, ErrorMessage = "RequestContext:BackgroundWorkQueue:MaxConcurrency must be at least 1.")]
    public int MaxConcurrency { get; set; } = 1;

    /// <summary>
    /// Gets or sets how long an item may run: then its token is cancelled, a Warning is logged with its request's ids,
    /// and the queue stops waiting for it and goes on with the next item, so that one hung item cannot block the rest.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.
    /// </summary>
    /// <value>Default: 1 minute. Positive, or <see cref="Timeout.InfiniteTimeSpan"/>.</value>
    [PositiveOrInfinite(ErrorMessage = "RequestContext:BackgroundWorkQueue:ItemTimeout must be positive (or -00:00:00.001 for no limit).")]
    public TimeSpan ItemTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
