using System.Collections.Concurrent;
using System.Diagnostics;

namespace ContextMiddleware.Testing;

/// <summary>
/// Every Activity of one source that stops while this listens, all data recorded (the suite's spans:
/// <c>ContextMiddleware.AspNetCore</c> by default). Stops listening on dispose.
/// </summary>
public sealed class StoppedActivities : IDisposable
{
    private readonly ActivityListener _listener;

    /// <summary>Starts listening.</summary>
    /// <param name="sourceName">The ActivitySource listened to.</param>
    public StoppedActivities(string sourceName = "ContextMiddleware.AspNetCore")
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == sourceName,
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The activities that stopped, in the order they stopped.</summary>
    public ConcurrentQueue<Activity> Stopped { get; } = new();

    /// <inheritdoc />
    public void Dispose() => _listener.Dispose();
}
