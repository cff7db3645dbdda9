using System.Diagnostics.CodeAnalysis;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// A queue of background work that runs each item in the context it was queued from: a job queued by a request
/// still sees that request's id, trace and user (and logs them) after the response has been sent.
/// Register it with <c>AddRequestContextBackgroundQueue()</c>; a hosted service runs the items, one at a time by
/// default (see <see cref="BackgroundWorkQueueOptions"/>).
/// </summary>
/// <remarks>
/// Each item runs under an Activity of its own (<c>ContextMiddleware.AspNetCore.BackgroundWork</c>, source
/// <c>ContextMiddleware.AspNetCore</c>), a child of its request's span: whatever reads <c>Activity.Current</c>
/// (Serilog's <c>{TraceId}</c>, the logging Activity scope, the <c>traceparent</c> of outgoing calls) stays in the
/// request's trace, and OpenTelemetry exports the item as a span when the source is added.
/// The same pattern works with any queue: capture <see cref="Context.CopyCurrent"/> when enqueuing, store it with
/// the item, and run the item with <c>await context.Run(() =&gt; HandleAsync(item))</c> when dequeuing.
/// <para>
/// When the host stops, the queue takes no new items and runs every item already queued, within the host's shutdown
/// timeout (<c>HostOptions.ShutdownTimeout</c>), after the server has finished its requests; items still waiting when
/// the timeout runs out are reported in one Warning with their count. An item that throws is logged with its request's
/// ids and the queue goes on; an item that runs longer than <see cref="BackgroundWorkQueueOptions.ItemTimeout"/> is
/// cancelled and no longer waited for.
/// </para>
/// </remarks>
[SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "It is a queue.")]
public interface IBackgroundWorkQueue
{
    /// <summary>Queues work to run later in a copy of the current context; waits while the queue is full.</summary>
    /// <param name="work">
    /// The work; its token is cancelled when the item runs longer than <see cref="BackgroundWorkQueueOptions.ItemTimeout"/>
    /// or when the host's shutdown timeout runs out.
    /// </param>
    /// <param name="cancellationToken">Cancels waiting for room in the queue.</param>
    /// <returns>A task that completes when the work is queued (not when it has run).</returns>
    /// <exception cref="InvalidOperationException">The host has stopped: the queue takes no new work.</exception>
    ValueTask QueueAsync(Func<CancellationToken, Task> work, CancellationToken cancellationToken = default);
}
