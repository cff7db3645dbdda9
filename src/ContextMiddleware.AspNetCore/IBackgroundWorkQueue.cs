using System.Diagnostics.CodeAnalysis;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// A queue of background work that runs each item in the context it was queued from: a job queued by a request
/// still sees that request's id, trace and user (and logs them) after the response has been sent.
/// Register it with <c>AddRequestContextBackgroundQueue()</c>; a hosted service runs the items one at a time.
/// </summary>
/// <remarks>
/// The same pattern works with any queue: capture <see cref="Context.CopyCurrent"/> when enqueuing, store it with
/// the item, and run the item with <c>await context.Run(() =&gt; HandleAsync(item))</c> when dequeuing.
/// </remarks>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue.")]
public interface IBackgroundWorkQueue
{
    /// <summary>Queues work to run later in a copy of the current context; waits while the queue is full.</summary>
    /// <param name="work">The work; its token is cancelled when the host stops.</param>
    /// <param name="cancellationToken">Cancels waiting for room in the queue.</param>
    /// <returns>A task that completes when the work is queued (not when it has run).</returns>
    ValueTask QueueAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken = default);
}
