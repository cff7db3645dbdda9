using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using ContextMiddleware.AspNetCore;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.SignalR.Internal;

/// <summary>
/// Runs every hub method invocation, <c>OnConnectedAsync</c> and <c>OnDisconnectedAsync</c> in a request context of its
/// own, through <see cref="IRequestContextPropagator.BeginCall"/> (the rules of HTTP requests: trust, validation, ids,
/// logging): the request id from the invocation's headers when the connection's caller is trusted, else fresh; the
/// trace of the invocation's Activity (SignalR's, or one started here when SignalR started none); the connection's
/// current user.
/// </summary>
internal sealed class RequestContextHubFilter : IHubFilter
{
    internal const string InvocationActivityName = "Microsoft.AspNetCore.SignalR.Server.InvocationIn";
    internal const string OnConnectedActivityName = "Microsoft.AspNetCore.SignalR.Server.OnConnected";
    internal const string OnDisconnectedActivityName = "Microsoft.AspNetCore.SignalR.Server.OnDisconnected";

    private static readonly ConcurrentDictionary<MethodInfo, string> s_invokedNames = new();
    private readonly IRequestContextPropagator _propagator;
    private readonly ILogger _logger;

    public RequestContextHubFilter(IRequestContextPropagator propagator, DistributedContextPropagator headers, ILogger<RequestContextHubFilter> logger)
    {
        _propagator = propagator;
        _logger = logger;
        if (headers is not HubInvocationPropagator)
        {
            HubLog.InvocationHeadersNotRead(logger, headers.GetType().FullName ?? headers.GetType().Name);
        }
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        var headers = InvocationHeaders.Current;
        var invocation = Begin(
            invocationContext.Context, invocationContext.Hub, InvokedName(invocationContext.HubMethod), headers, InvocationActivityName);
        var ended = false;
        try
        {
            var result = await next(invocationContext);

            // A stream the method returns is enumerated by SignalR after this filter returned: it runs in the
            // invocation's context, which ends when the stream does.
            if (result is not null && ContextStreams.TryWrap(invocationContext.HubMethod, result, invocation, out var wrapped))
            {
                ended = true;
                return wrapped;
            }

            return result;
        }
        finally
        {
            if (!ended)
            {
                invocation.End();
            }
        }
    }

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var invocation = Begin(context.Context, context.Hub, nameof(Hub.OnConnectedAsync), null, OnConnectedActivityName);
        try
        {
            await next(context);
        }
        finally
        {
            invocation.End();
        }
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        var invocation = Begin(context.Context, context.Hub, nameof(Hub.OnDisconnectedAsync), null, OnDisconnectedActivityName);
        try
        {
            await next(context, exception);
        }
        finally
        {
            invocation.End();
        }
    }

    /// <summary>Sets the invocation's context in the calling flow (the filter's own async method, which ends it).</summary>
    private HubCallSource Begin(HubCallerContext caller, Hub hub, string method, InvocationHeaders? headers, string activityName)
    {
        // Read in the connection's flow, before this invocation's context replaces them.
        var connectionRequestId = RequestContext.RequestId.Get();
        var address = IncomingCallSource.Current?.RemoteAddress;

        // SignalR starts the Activity only when its ActivitySource has listeners, or (from headers) logging is on:
        // otherwise start one, as SignalR would (an invocation's at the root of a trace, or under the trusted caller's
        // span SignalR would have continued; OnConnected/OnDisconnected under the current one), so that whatever reads
        // Activity.Current (log scopes, Serilog's TraceId, HttpClient's traceparent) sees the invocation's trace.
        var activity = Activity.Current;
        Activity? started = null;
        if (activity is null || !string.Equals(activity.OperationName, activityName, StringComparison.Ordinal))
        {
            started = new Activity(activityName);
            started.Start();
            activity = started;
        }

        var source = new HubCallSource(caller, hub.GetType().Name, method, connectionRequestId, address, headers, started);
        var call = _propagator.BeginCall(source, activity);
        switch (headers?.Problem)
        {
            case TraceHeaderProblem.Untrusted:
                HubLog.UntrustedTraceContext(_logger);
                break;
            case TraceHeaderProblem.InvalidTraceParent:
                HubLog.InvalidTraceParent(_logger, 1);
                break;
            case TraceHeaderProblem.InvalidTraceState:
                HubLog.InvalidTraceState(_logger);
                break;
        }

        if (call.Rejection is { } rejection)
        {
            // RejectInvalidRequestIds: a trusted caller's invalid id fails the invocation, as it fails an HTTP request
            // with 400. The message names the header and the rule, never the value.
            source.End();
            throw new HubException(rejection);
        }

        return source;
    }

    /// <summary>The name a client invokes the method by (its <see cref="HubMethodNameAttribute"/>, or its own).</summary>
    private static string InvokedName(MethodInfo method) =>
        s_invokedNames.GetOrAdd(method, static method => method.GetCustomAttribute<HubMethodNameAttribute>()?.Name ?? method.Name);
}
