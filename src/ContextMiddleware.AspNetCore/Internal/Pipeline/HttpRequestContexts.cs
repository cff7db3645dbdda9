using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Logging;
using Microsoft.AspNetCore.Http;
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
/// </remarks>
internal sealed class HttpRequestContexts(
    IRequestContextPropagator propagator,
    HttpSettings settings,
    IServiceProvider services,
    ILogger<HttpRequestContexts> logger) : IObserver<KeyValuePair<string, object?>>, IDisposable
{
    private const string StartEvent = "Microsoft.AspNetCore.Hosting.HttpRequestIn.Start";

    private readonly Lock _lock = new();

    /// <summary>Writes the request id (and traceresponse) on responses.</summary>
    public ResponseHeaderWriter HeaderWriter { get; } = new(settings);
    private IDisposable? _subscription;
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

            _enabled = true;
            if (services.GetService(typeof(DiagnosticListener)) is DiagnosticListener listener)
            {
                _subscription = listener.Subscribe(this, static (name, _, _) => string.Equals(name, StartEvent, StringComparison.Ordinal));
            }
        }
    }

    /// <summary>
    /// Begins the request's context in the calling flow: its request id (also the request's <c>TraceIdentifier</c>),
    /// trace, user and response headers.
    /// </summary>
    public HttpCall Begin(HttpContext context, Activity? activity)
    {
        var call = new HttpCall(context);
        var incoming = propagator.BeginCall(call, activity);
        call.Rejection = incoming.Rejection;
        context.TraceIdentifier = incoming.RequestId;
        if (settings.WritesResponseHeaders)
        {
            context.Response.OnStarting(HeaderWriter.Callback, context);
        }

        return call;
    }

    public void OnNext(KeyValuePair<string, object?> value)
    {
        if (!string.Equals(value.Key, StartEvent, StringComparison.Ordinal) || value.Value is not HttpContext context)
        {
            return;
        }

        try
        {
            Begin(context, Activity.Current);
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
