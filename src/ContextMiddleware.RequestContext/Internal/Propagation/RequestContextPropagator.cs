using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Baggage;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.RequestIds;
using ContextMiddleware.AspNetCore.Internal.Tracing;
using ContextMiddleware.AspNetCore.Internal.User;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Propagation;

/// <summary>
/// The one place a request context is made from what a caller sent, for every transport: live calls
/// (<see cref="BeginCall"/>) and messages (<see cref="Extract"/>), with one trust policy and one request-id resolver.
/// </summary>
internal sealed class RequestContextPropagator(RequestIdResolver resolver) : IRequestContextPropagator
{
    private static readonly Func<IncomingCallSource, string, StringValues> s_header = static (source, name) => source.GetHeader(name);

    private RequestContextSettings Settings => resolver.Settings;

    public void Inject<TCarrier>(TCarrier carrier, Action<TCarrier, string, string> setter)
    {
        ArgumentNullException.ThrowIfNull(setter);
        if (RequestContext.RequestId.Get() is { } requestId)
        {
            setter(carrier, Settings.OutgoingRequestIdHeader, requestId);
        }

        // A message is a new hop: name the current span as its parent. A W3C Activity's id is the traceparent (the
        // Activity keeps it once made), so a publish inside a request allocates nothing for it.
        var activity = Activity.Current;
        if (activity is { IdFormat: ActivityIdFormat.W3C, Id: { } traceParent })
        {
            setter(carrier, TraceHeaders.TraceParent, traceParent);
            if (!string.IsNullOrEmpty(activity.TraceStateString))
            {
                setter(carrier, TraceHeaders.TraceState, activity.TraceStateString);
            }
        }
        else if (RequestContext.Trace.Get() is { } trace)
        {
            TraceHeaders.Write(trace, carrier, setter);
        }

        if (BaggageWriter.Compose(Settings) is { } baggage)
        {
            setter(carrier, W3CBaggage.HeaderName, baggage);
        }

        // Messages only (HTTP calls never use Inject), and only when the app opted in.
        if (Settings.MessageUserIdHeader is { } userIdHeader && MessageUser.Encode(RequestContext.User.Get().Id) is { } userId)
        {
            setter(carrier, userIdHeader, userId);
        }
    }

    public Context Extract<TCarrier>(TCarrier carrier, Func<TCarrier, string, StringValues> getter)
    {
        ArgumentNullException.ThrowIfNull(getter);

        // A message has no connection: the policy decides for a caller without an address.
        Exception? trustFailure = null;
        var trace = IncomingTrace.Read(carrier, getter, resolver.TrustsTraceContext(null, ref trustFailure), out var newTrace);
        var resolved = resolver.Resolve(carrier, getter, null, newTrace ? trace.TraceId : null, canReject: false);

        var baggage = getter(carrier, W3CBaggage.HeaderName);
        var failedValue = IncomingValue.TraceContext;
        var baggageTrusted = baggage.Count != 0 && TrustsBaggage(null, ref trustFailure, ref failedValue);
        var userIdHeader = Settings.MessageUserIdHeader;
        var userId = userIdHeader is null ? StringValues.Empty : getter(carrier, userIdHeader);
        var userIdTrusted = userId.Count != 0 && TrustsUserId(ref trustFailure, ref failedValue);
        trace.Settings = Settings;
        var context = new Context();
        context.Run(() =>
        {
            ContextVar.SetMany(
                RequestContext.RequestId, resolved.RequestId,
                RequestContext.ClientRequestId, resolved.ClientRequestId,
                RequestContext.Trace, trace);
            resolver.LogOutcome(resolved, null, trustFailure, failedValue);
            ReadBaggage(baggage, baggageTrusted, null);
            if (userId.Count != 0)
            {
                ReadUserId(userIdHeader!, userId, userIdTrusted);
            }
        });
        return context;
    }

    /// <summary>Asks about a message's user id; a failure is the call's one failure only when no earlier question failed.</summary>
    private bool TrustsUserId(ref Exception? failure, ref IncomingValue failedValue)
    {
        Exception? userFailure = null;
        var trusted = resolver.TrustsMessageUserId(ref userFailure);
        if (failure is null && userFailure is not null)
        {
            failure = userFailure;
            failedValue = IncomingValue.UserId;
        }

        return trusted;
    }

    /// <summary>Sets the user of a message whose context is current, from its user id header, and logs what was wrong.</summary>
    private void ReadUserId(string headerName, StringValues values, bool trusted)
    {
        if (!trusted)
        {
            Log.UntrustedMessageUserId(resolver.Logger, headerName);
            return;
        }

        string? problem = "the header is repeated";
        var id = values.Count == 1 ? MessageUser.Decode(values[0] ?? string.Empty, out problem) : null;

        if (id is null)
        {
            Log.InvalidMessageUserId(resolver.Logger, headerName, problem!);
            return;
        }

        RequestContext.User.Set(MessageUser.Create(id, Settings));
    }

    public Task RunAsync(Context context, Func<Task> handler, string? displayName = null) =>
        ContextActivities.RunAsync(context, handler, ContextActivities.ConsumerActivityName, ActivityKind.Consumer, displayName);

    public bool TrustsTraceContext(System.Net.IPAddress? remoteAddress, out Exception? failure)
    {
        failure = null;
        return resolver.TrustsTraceContext(remoteAddress, ref failure);
    }

    public bool TrustsBaggage(System.Net.IPAddress? remoteAddress, out Exception? failure)
    {
        failure = null;
        return resolver.TrustsBaggage(remoteAddress, ref failure);
    }

    /// <summary>Asks about the baggage; a failure is the call's one failure only when the trace question did not fail first.</summary>
    private bool TrustsBaggage(System.Net.IPAddress? remoteAddress, ref Exception? failure, ref IncomingValue failedValue)
    {
        Exception? baggageFailure = null;
        var trusted = resolver.TrustsBaggage(remoteAddress, ref baggageFailure);
        if (failure is null && baggageFailure is not null)
        {
            failure = baggageFailure;
            failedValue = IncomingValue.Baggage;
        }

        return trusted;
    }

    /// <summary>Sets the baggage variables of a call whose context is current (its ids set), and logs what was dropped.</summary>
    private void ReadBaggage(StringValues baggage, bool trusted, System.Net.IPAddress? remoteAddress, Activity? activity = null)
    {
        if (baggage.Count == 0)
        {
            return;
        }

        if (trusted)
        {
            BaggageReader.Apply(baggage, Settings.Baggage, resolver.Logger, activity);
        }
        else
        {
            Log.UntrustedBaggage(resolver.Logger, remoteAddress);
        }
    }

    public IncomingCall BeginCall(IncomingCallSource source, Activity? activity)
    {
        ArgumentNullException.ThrowIfNull(source);

        var remoteAddress = source.RemoteAddress;
        TraceContext trace;
        bool newTrace;
        var trustFailure = source.TrustFailure;
        var failedValue = trustFailure is null ? IncomingValue.TraceContext : source.TrustFailureValue;
        if (activity is { IdFormat: ActivityIdFormat.W3C })
        {
            trace = TraceContext.FromActivity(activity);
            newTrace = activity.ParentId is null;
        }
        else
        {
            trace = IncomingTrace.Read(source, s_header, resolver.TrustsTraceContext(remoteAddress, ref trustFailure), out newTrace);
        }

        var resolved = resolver.Resolve(source, s_header, remoteAddress, newTrace ? trace.TraceId : null, canReject: true);
        trace.Settings = Settings;
        var user = new SourceUser(source, Settings);
        if (resolved.ClientRequestId is null && !RequestContext.ClientRequestId.TryGet(out _))
        {
            // The common case: no client id to keep, and none inherited to clear. One variable fewer to write.
            ContextVar.SetMany(
                RequestContext.RequestId, resolved.RequestId,
                RequestContext.Trace, trace,
                RequestContext.User, (ICurrentUser)user);
        }
        else
        {
            ContextVar.SetMany(
                RequestContext.RequestId, resolved.RequestId,
                RequestContext.ClientRequestId, resolved.ClientRequestId,
                RequestContext.Trace, trace,
                RequestContext.User, (ICurrentUser)user);
        }

        var baggage = source.GetHeader(W3CBaggage.HeaderName);
        var baggageTrusted = baggage.Count != 0 && TrustsBaggage(remoteAddress, ref trustFailure, ref failedValue);
        resolver.LogOutcome(resolved, remoteAddress, trustFailure, failedValue);
        ReadBaggage(baggage, baggageTrusted, remoteAddress, activity);
        return new IncomingCall(resolved.RequestId, resolved.ClientRequestId, trace, user, resolved.Rejected ? resolver.RejectionDetail(resolved) : null);
    }
}
