using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// Resolves the request id, makes sure the request has an Activity, and sets <see cref="RequestContext"/>'s
/// variables for the rest of the pipeline.
/// </summary>
/// <remarks>
/// <see cref="InvokeAsync"/> is an async method on purpose: .NET restores the caller's ExecutionContext when it
/// returns, so the values set here end with the request and can never bleed into the next one on the connection.
/// </remarks>
internal sealed class RequestContextMiddleware(
    RequestDelegate next,
    RequestContextSettings settings,
    TraceContextPropagator propagator,
    ILogger<RequestContextMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var startedActivity = EnsureActivity(context);
        var activity = startedActivity ?? Activity.Current;
        var state = new RequestState(context, settings);
        var trace = activity is null ? null : TraceContext.FromActivity(activity);
        state.Trace = trace;
        if (settings.ResponseHeader is not null || settings.TraceResponse)
        {
            context.Response.OnStarting(RequestState.WriteResponseHeaders, state);
        }

        if (!ResolveRequestId(context, state, activity, out var rejection))
        {
            await RejectAsync(context, state, rejection);
            startedActivity?.Stop();
            return;
        }

        context.Features.Set<IHttpRequestIdentifierFeature>(state); // TraceIdentifier is now the request id
        if (state.ClientRequestId is null && !RequestContext.ClientRequestId.TryGet(out _))
        {
            // The common case: no client id to keep, and none inherited to clear. One variable fewer to write.
            ContextVar.SetMany(
                RequestContext.RequestId, state.RequestId,
                RequestContext.Trace, trace,
                RequestContext.User, (ICurrentUser)state);
        }
        else
        {
            ContextVar.SetMany(
                RequestContext.RequestId, state.RequestId,
                RequestContext.ClientRequestId, state.ClientRequestId,
                RequestContext.Trace, trace,
                RequestContext.User, (ICurrentUser)state);
        }

        try
        {
            await next(context);
        }
        catch (Exception exception) when (LogUnhandled(state, exception))
        {
            // Never reached: the filter logs while the request's context is still set, and returns false.
        }
        finally
        {
            state.Freeze();
            startedActivity?.Stop();
        }
    }

    private bool LogUnhandled(RequestState state, Exception exception)
    {
        if (settings.LogUnhandledExceptions)
        {
            Log.UnhandledException(logger, state.RequestId, exception);
        }

        return false;
    }

    /// <summary>Decides the request id; false when the request must be rejected.</summary>
    private bool ResolveRequestId(HttpContext context, RequestState state, Activity? activity, out string rejection)
    {
        rejection = string.Empty;
        var headers = context.Request.Headers;
        foreach (var headerName in settings.RequestIdHeaders)
        {
            var values = headers[headerName];
            if (values.Count == 0)
            {
                continue;
            }

            var value = values.Count == 1 ? values[0] ?? string.Empty : string.Empty;
            var trusted = settings.IncomingRequestIds == RequestContextTrust.Trust ||
                settings.IsTrusted(settings.IncomingRequestIds, context.Connection.RemoteIpAddress);
            var (problem, accepted, clientRequestId) =
                RequestIdValidator.Decide(value, values.Count, trusted, settings.MaxRequestIdLength);
            if (accepted)
            {
                state.RequestId = value;
                return true;
            }

            state.RequestId = Generate(activity);
            state.ClientRequestId = clientRequestId;

            if (!trusted)
            {
                Log.UntrustedRequestId(logger, headerName, context.Connection.RemoteIpAddress?.ToString(), state.RequestId);
                return true;
            }

            var reason = RequestIdValidator.Describe(problem, settings.MaxRequestIdLength);
            if (settings.RejectInvalidRequestIds)
            {
                Log.RejectedRequestId(logger, headerName, reason);
                rejection = $"The request id in header '{headerName}' is invalid: {reason}.";
                return false;
            }

            Log.InvalidRequestId(logger, headerName, state.RequestId, reason);
            return true;
        }

        state.RequestId = Generate(activity);
        return true;
    }

    /// <summary>
    /// A fresh id. Without a custom generator, a request that starts a new trace takes its trace id as request id:
    /// it is 128 fresh random bits in the same format, costs nothing to make, and leaves one id to search for.
    /// </summary>
    private string Generate(Activity? activity)
    {
        if (!settings.HasCustomGenerator && activity is { IdFormat: ActivityIdFormat.W3C, ParentId: null })
        {
            return activity.TraceId.ToHexString();
        }

        var id = settings.GenerateRequestId(out var generatorProblem);
        if (generatorProblem != RequestIdProblem.None)
        {
            Log.InvalidGeneratedRequestId(logger, RequestIdValidator.Describe(generatorProblem, settings.MaxRequestIdLength));
        }

        return id;
    }

    private static async Task RejectAsync(HttpContext context, RequestState state, string detail)
    {
        context.Features.Set<IHttpRequestIdentifierFeature>(state);
        var problem = TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status400BadRequest,
            title: "Invalid request id",
            extensions: new Dictionary<string, object?> { ["requestId"] = state.RequestId });
        await problem.ExecuteAsync(context);
    }

    /// <summary>
    /// Starts an Activity when the host did not (it does whenever logging or a listener is on), from the trace headers
    /// as <see cref="TraceContextPropagator"/> reads them, under the same trust policy as the host's extraction.
    /// </summary>
    private Activity? EnsureActivity(HttpContext context)
    {
        if (Activity.Current is not null || context.Features.Get<IHttpActivityFeature>()?.Activity is not null)
        {
            return null;
        }

        var trusted = settings.IsTrusted(settings.IncomingTraceContext, context.Connection.RemoteIpAddress);
        var parent = default(ActivityContext);
        if (propagator.Extract(context.Request.Headers, trusted, out var traceParent, out var traceState))
        {
            ActivityContext.TryParse(traceParent, traceState, isRemote: true, out parent);
        }

        var activity = ContextActivities.Start(ContextActivities.RequestActivityName, ActivityKind.Server, parent);
        context.Features.Set<IHttpActivityFeature>(new ActivityFeature(activity));
        Log.StartedActivity(logger, ContextActivities.RequestActivityName);
        return activity;
    }

    private sealed class ActivityFeature(Activity activity) : IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }
}
