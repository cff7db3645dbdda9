using System.Diagnostics;

namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>
/// The Activities ContextMiddleware starts itself: each background work item's and each message's, a child of the span
/// its context came from. Listeners of <see cref="SourceName"/> (OpenTelemetry's <c>AddSource</c>) get them as spans;
/// without a listener a plain Activity is started, so that whatever reads <see cref="Activity.Current"/> (Serilog's
/// <c>{TraceId}</c>, the logging Activity scope, HttpClient's <c>traceparent</c>) still sees the trace.
/// </summary>
internal static class ContextActivities
{
    internal const string SourceName = "ContextMiddleware.AspNetCore";
    internal const string BackgroundWorkActivityName = "ContextMiddleware.AspNetCore.BackgroundWork";
    internal const string ConsumerActivityName = "ContextMiddleware.AspNetCore.Process";
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
    /// Runs <paramref name="handler"/> in <paramref name="context"/> under an Activity of its own. A consumer's parent is
    /// the producer's span (the context's trace names the consumer's own span, made up by the propagator, and becomes
    /// the Activity's ids for the handler; when the message carried no trace the Activity starts one, and a request id
    /// that was the made-up trace's id follows it). Background work's parent is its request's span, and the context's
    /// trace stays the request's, as inside any child Activity of a request.
    /// </summary>
    public static Task RunAsync(Context context, Func<Task> handler, string name, ActivityKind kind, string? displayName)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(handler);
        return context.Run(() => RunInContextAsync(handler, name, kind, displayName));
    }

    private static async Task RunInContextAsync(Func<Task> handler, string name, ActivityKind kind, string? displayName)
    {
        using var activity = StartFor(RequestContext.Trace.Get(), name, kind, consumer: kind == ActivityKind.Consumer);
        if (activity is not null && displayName is not null)
        {
            activity.DisplayName = displayName;
        }

        try
        {
            await handler();
        }
        catch (Exception exception)
        {
            activity?.SetTag("error.type", exception.GetType().FullName);
            activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().FullName);
            throw;
        }
    }

    private static Activity? StartFor(TraceContext? trace, string name, ActivityKind kind, bool consumer)
    {
        if (trace is null)
        {
            return null;
        }

        var parentSpanId = consumer ? trace.ParentSpanId : trace.SpanId;
        Activity activity;
        if (parentSpanId is not null && TryParse(trace.TraceId, parentSpanId, trace.Flags, trace.TraceState, out var parent))
        {
            activity = Start(name, kind, parent);
        }
        else
        {
            activity = Start(name, kind, default);
            if (consumer && string.Equals(RequestContext.RequestId.Get(), trace.TraceId, StringComparison.Ordinal))
            {
                RequestContext.RequestId.Set(activity.TraceId.ToHexString());
            }
        }

        if (consumer && activity.IdFormat == ActivityIdFormat.W3C)
        {
            var own = TraceContext.FromActivity(activity);
            own.Settings = trace.Settings;
            RequestContext.Trace.Set(own);
        }

        return activity;
    }

    private static bool TryParse(string traceId, string spanId, byte flags, string? traceState, out ActivityContext parent)
    {
        parent = default;
        if (traceId.Length != 32 || spanId.Length != 16)
        {
            return false;
        }

        try
        {
            parent = new ActivityContext(
                ActivityTraceId.CreateFromString(traceId), ActivitySpanId.CreateFromString(spanId), (ActivityTraceFlags)(flags & TraceParent.SampledFlag), traceState, isRemote: true);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false;
        }
    }
}
