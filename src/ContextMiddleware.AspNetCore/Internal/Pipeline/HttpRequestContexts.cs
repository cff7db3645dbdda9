using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Tracing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// The one place an HTTP request's context begins, and the switch that <c>UseRequestContext()</c> turns on.
/// </summary>
/// <remarks>
/// <para>
/// A request's context begins when ASP.NET Core's hosting starts the request's Activity (it does whenever a logging
/// provider or an Activity listener is on): hosting reports it through its <see cref="DiagnosticListener"/>
/// (<c>Microsoft.AspNetCore.Hosting.HttpRequestIn.Start</c>), in the server's own flow, before hosting opens its
/// logging scope and before the first middleware. So the context is set for everything the server does for the
/// request: hosting's "Request starting" and "Request finished", every middleware wherever it is placed, the server's
/// record of an unhandled exception. The request id is then the request's <c>TraceIdentifier</c>, which hosting's
/// logging scope and the server's records carry as its id.
/// </para>
/// <para>
/// Nothing here asks hosting to start an Activity it would not start anyway. When it starts none, the outermost
/// middleware (<see cref="RequestContextStartupFilter"/>) begins the context for the whole pipeline instead.
/// </para>
/// <para>
/// The request's user lets go of the <see cref="HttpContext"/> when hosting stops the Activity
/// (<c>Microsoft.AspNetCore.Hosting.HttpRequestIn.Stop</c>, after hosting's "Request finished"), so a request answered
/// by middleware in front of the outermost one (a startup filter registered before <c>AddRequestContext()</c>) lets go
/// too; otherwise when the outermost middleware returns.
/// </para>
/// </remarks>
internal sealed class HttpRequestContexts(
    IRequestContextPropagator propagator,
    HttpSettings settings,
    IServiceProvider services,
    ILogger<HttpRequestContexts> logger) : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private const string StartEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Start";
    private const string StopEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Stop";

    private readonly Lock _lock = new();

    /// <summary>Writes the request id (and traceresponse) on responses.</summary>
    public ResponseHeaderWriter HeaderWriter { get; } = new(settings);
    private IDisposable? _subscription;
    private HostingTraceContextPropagator? _traceHeaders;
    private bool _enabled;

    /// <summary>Whether <c>UseRequestContext()</c> was called.</summary>
    public bool Enabled => Volatile.Read(ref _enabled);

    /// <summary>Whether the startup filter put the outermost middleware in the pipeline (set while the host builds it).</summary>
    public bool OutermostInstalled { get; set; }

    /// <summary>Turns the request context on: begins every request's context when hosting starts its Activity.</summary>
    public void Enable()
    {
        lock (_lock)
        {
            if (_enabled)
            {
                return;
            }

            var trust = services.GetRequiredService<IRequestContextTrustPolicy>();
            if (!HostingTraceContextPropagator.IsDefault(trust) && services.GetService<IHttpContextAccessor>() is null)
            {
                throw new InvalidOperationException(
                    $"The registered {nameof(IRequestContextTrustPolicy)} ({trust.GetType().FullName}) is asked about each HTTP caller with its address, " +
                    "and ASP.NET Core's hosting reads trace headers before any middleware runs, where the address is found only through IHttpContextAccessor. " +
                    "Call builder.Services.AddHttpContextAccessor().");
            }

            _traceHeaders = services.GetRequiredService<HostingTraceContextPropagator>();
            _enabled = true;
            if (services.GetService<DiagnosticListener>() is { } listener)
            {
                _subscription = listener.Subscribe(this, static (name, _, _) =>
                    string.Equals(name, StartEvent, StringComparison.Ordinal) || string.Equals(name, StopEvent, StringComparison.Ordinal));
            }
        }
    }

    /// <summary>
    /// Begins the request's context in the calling flow: its request id (also the request's <c>TraceIdentifier</c>),
    /// trace, user and response headers; then logs what was done with its trace headers, so the records carry its ids.
    /// </summary>
    public HttpCall Begin(HttpContext context, Activity? activity, in TraceHeaderOutcome traceHeaders)
    {
        var call = new HttpCall(context, traceHeaders.TrustFailure, traceHeaders.OriginalBaggage, traceHeaders.TrustFailureValue); // a failure is logged once by BeginCall, with the ids
        var incoming = propagator.BeginCall(call, activity);

        _traceHeaders!.Log(traceHeaders, context.Connection.RemoteIpAddress);
        if (activity is { IsAllDataRequested: true } && (settings.SpanTags & RequestContextSpanTags.RequestId) != 0)
        {
            activity.SetTag("request.id", incoming.RequestId);
        }

        call.Rejection = incoming.Rejection;
        context.TraceIdentifier = incoming.RequestId;
        if (settings.WritesResponseHeaders)
        {
            context.Response.OnStarting(HeaderWriter.Callback, context);
        }

        return call;
    }

    /// <summary>
    /// Tags the request's span with what the app opted in to, as it is when the request ends: the user id and the
    /// request's properties.
    /// </summary>
    public void TagEnd(Activity? activity)
    {
        var tags = settings.SpanTags;
        if (activity is not { IsAllDataRequested: true } || (tags & (RequestContextSpanTags.UserId | RequestContextSpanTags.Properties)) == 0)
        {
            return;
        }

        if ((tags & RequestContextSpanTags.UserId) != 0 && RequestContext.User.Get().Id is { } userId)
        {
            activity.SetTag("user.id", userId);
        }

        if ((tags & RequestContextSpanTags.Properties) != 0)
        {
            foreach (var (name, value) in RequestContext.Properties.GetAll())
            {
                activity.SetTag("request.property." + name, value);
            }
        }
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (value.Value is not HttpContext context)
        {
            return;
        }

        if (string.Equals(value.Key, StopEvent, StringComparison.Ordinal))
        {
            // Still in the request's flow: hosting has written its last record for the request, and its Activity is
            // not stopped yet (listeners see the tags when it is).
            if (HttpCall.Of(context) is { } call)
            {
                TagEnd(Activity.Current);
                call.End();
            }

            return;
        }

        if (!string.Equals(value.Key, StartEvent, StringComparison.Ordinal))
        {
            return;
        }

        try
        {
            HostingTraceContextPropagator.TakePending(context.Request.Headers, out var traceHeaders);
            Begin(context, Activity.Current, traceHeaders);
        }
        catch (Exception exception)
        {
            // Never fail hosting's own start of the request (the server would drop the connection unlogged): the
            // outermost middleware begins the context again, in the pipeline, where a failure is answered and logged.
            HttpLog.BeginFailed(logger, exception);
        }
    }

    public void OnCompleted()
    {
    }

    public void OnError(Exception error)
    {
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _subscription?.Dispose();
            _subscription = null;
        }
    }
}
