using System.Diagnostics;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// The Activities ContextMiddleware starts itself: the request's, when the host started none, and each background work
/// item's, a child of its request's span. Listeners of <see cref="SourceName"/> (OpenTelemetry's <c>AddSource</c>)
/// get them as spans; without a listener a plain Activity is started, so that whatever reads
/// <see cref="Activity.Current"/> (Serilog's <c>{TraceId}</c>, the logging Activity scope, HttpClient's
/// <c>traceparent</c>) still sees the request's trace.
/// </summary>
internal static class ContextActivities
{
    internal const string SourceName = "ContextMiddleware.AspNetCore";
    internal const string RequestActivityName = "ContextMiddleware.AspNetCore.Request";
    internal const string BackgroundWorkActivityName = "ContextMiddleware.AspNetCore.BackgroundWork";
    private static readonly ActivitySource s_source = new(SourceName);

    public static Activity Start(string name, ActivityKind kind, ActivityContext parent)
    {
        var activity = s_source.StartActivity(name, kind, parent);
        if (activity is null)
        {
            activity = new Activity(name);
            if (parent != default)
            {
                activity.SetParentId(parent.TraceId, parent.SpanId, parent.TraceFlags);
                activity.TraceStateString = parent.TraceState;
            }

            activity.Start();
        }

        return activity;
    }

    /// <summary>
    /// Starts the Activity of a background work item running in its request's context, when no Activity is current:
    /// a child of the request's span, so the work's logs and calls stay in the request's trace.
    /// </summary>
    public static Activity? StartBackgroundWork()
    {
        if (Activity.Current is not null
            || RequestContext.Trace.Get() is not { } trace
            || !ActivityContext.TryParse(trace.ToString(), trace.TraceState, isRemote: false, out var parent))
        {
            return null;
        }

        return Start(BackgroundWorkActivityName, ActivityKind.Internal, parent);
    }
}
