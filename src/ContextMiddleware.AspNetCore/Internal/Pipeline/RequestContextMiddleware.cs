using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Tracing;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// The outermost middleware of a request: begins the request's context when hosting did not (no Activity), answers
/// 400 to a rejected request id, answers an exception that escaped every other middleware with a logged 500 that
/// carries the request id, and at the end lets the request's user go of the <see cref="HttpContext"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="InvokeAsync"/> is an async method on purpose: .NET restores the caller's ExecutionContext when it returns,
/// so a context begun here ends with the request and can never bleed into the next one on the connection.
/// </para>
/// <para>
/// Being outermost, it sees an exception only when nothing else handled it (<c>UseExceptionHandler</c> and the
/// developer exception page log and answer their own), so the exception is logged once. An exception after the
/// response started is left to the server, which logs it and aborts the response; a request the client abandoned is
/// logged at Debug and answered 499, as ASP.NET Core's exception handler does; a
/// <see cref="BadHttpRequestException"/> (a request body over the size limit, a malformed request) is answered with
/// its status code (413, 400) and <c>Connection: close</c>, as the server would, with the request id, and logged at
/// Debug.
/// </para>
/// </remarks>
internal sealed class RequestContextMiddleware(
    RequestDelegate next,
    HttpRequestContexts contexts,
    HttpSettings settings,
    HostingTraceContextPropagator traceHeaders,
    ILogger<RequestContextMiddleware> logger)
{
    private const string RequestActivityName = "ContextMiddleware.AspNetCore.Request";
    // The name of the RequestContext package's source (messages, background work): one AddSource covers both.
    private static readonly ActivitySource s_source = new("ContextMiddleware.AspNetCore");

    public async Task InvokeAsync(HttpContext context)
    {
        Activity? startedActivity = null;
        var begunHere = false;
        if (HttpCall.Of(context) is not { } call)
        {
            startedActivity = StartActivity(context, out var outcome);
            call = contexts.Begin(context, startedActivity, outcome);
            begunHere = true;
        }

        try
        {
            if (call.Rejection is { } rejection)
            {
                await RejectAsync(context, rejection);
                return;
            }

            await next(context);
        }
        catch (Exception exception) when (settings.HandleUnhandledExceptions && !context.Response.HasStarted)
        {
            Answer(context, exception);
        }
        finally
        {
            // A context begun here ends with this method: a response the server starts after it would not see it.
            if (begunHere && !context.Response.HasStarted)
            {
                contexts.HeaderWriter.Write(context);
            }

            contexts.TagEnd(startedActivity ?? Activity.Current);
            call.End();
            startedActivity?.Stop();
        }
    }

    private void Answer(HttpContext context, Exception exception)
    {
        if (exception is BadHttpRequestException badRequest)
        {
            // The server's own verdict on the request (a body over the size limit, a malformed request): answered with
            // its status, as the server would, but with the request id; the client's doing, so not an Error.
            // The connection closes after it, as the server's own answer says: what is left of a malformed or oversized
            // request cannot be read past.
            HttpLog.BadRequest(logger, badRequest.StatusCode, badRequest);
            context.Response.Clear();
            context.Response.StatusCode = badRequest.StatusCode;
            context.Response.Headers.Connection = "close";
            TagError(context, badRequest.GetType().FullName);
            return;
        }

        if (exception is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            HttpLog.RequestAborted(logger);
            context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
            return;
        }

        // The exception handler logs an exception it could not handle before it throws it again, itself or wrapped (in an
        // InvalidOperationException when its handler answered 404): do not log it twice.
        if (context.Features.Get<IExceptionHandlerFeature>()?.Error is not { } handled ||
            handled != exception && handled != exception.InnerException)
        {
            HttpLog.UnhandledException(logger, exception);
        }

        // Clear keeps the OnStarting callbacks: the request id (and traceresponse) are written when this 500 starts.
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status500InternalServerError;

        var errorType = exception.GetType().FullName;
        TagError(context, errorType);

        if ((context.Features.Get<IHttpActivityFeature>()?.Activity ?? Activity.Current) is { } activity)
        {
            activity.SetTag("error.type", errorType);
            activity.SetStatus(ActivityStatusCode.Error, errorType);
        }
    }

    /// <summary>The exception's type on hosting's duration metric, as when an exception escapes to hosting.</summary>
    private static void TagError(HttpContext context, string? errorType)
    {
        if (context.Features.Get<IHttpMetricsTagsFeature>() is { } metrics && !metrics.Tags.Any(static tag => tag.Key == "error.type"))
        {
            metrics.Tags.Add(new("error.type", errorType));
        }
    }

    private static async Task RejectAsync(HttpContext context, string detail)
    {
        var problem = TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status400BadRequest,
            title: "Invalid request id",
            extensions: new Dictionary<string, object?> { ["requestId"] = RequestContext.RequestId.Get() });
        await problem.ExecuteAsync(context);
    }

    /// <summary>
    /// Reads the trace headers as hosting would have (the trust policy, the headers normalised in place), and starts the
    /// request's Activity when something listens to ContextMiddleware's source. Without a listener nothing would read
    /// an Activity: the request's trace ids are then made without one.
    /// </summary>
    private Activity? StartActivity(HttpContext context, out TraceHeaderOutcome outcome)
    {
        outcome = traceHeaders.Extract(context.Request.Headers, context, out var traceParent, out var traceState);

        // Hosting may have read (and normalised) the headers already without starting an Activity (a sampler dropped
        // it): what it found is what there is to log.
        if (HostingTraceContextPropagator.TakePending(context.Request.Headers, out var hostings))
        {
            outcome = hostings;
        }

        if (!s_source.HasListeners() || Activity.Current is not null)
        {
            return null;
        }

        ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent);

        var activity = s_source.StartActivity(RequestActivityName, ActivityKind.Server, parent);
        if (activity is not null)
        {
            HttpLog.StartedActivity(logger, RequestActivityName);
        }

        return activity;
    }
}
