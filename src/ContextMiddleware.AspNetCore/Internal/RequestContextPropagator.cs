using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>The transport-neutral propagator: see <see cref="IRequestContextPropagator"/>.</summary>
internal sealed class RequestContextPropagator(RequestContextSettings settings, ILogger<RequestContextPropagator> logger)
    : IRequestContextPropagator
{
    public void Inject(IDictionary<string, string> carrier)
    {
        ArgumentNullException.ThrowIfNull(carrier);
        if (RequestContext.RequestId.Get() is { } requestId)
        {
            carrier[settings.OutgoingRequestIdHeader] = requestId;
        }

        // A message is a new hop: name the current span as its parent.
        var activity = Activity.Current;
        var trace = activity is { IdFormat: ActivityIdFormat.W3C } ? TraceContext.FromActivity(activity) : RequestContext.Trace.Get();
        if (trace is not null)
        {
            TraceHeaders.Write(trace, carrier, static (headers, name, value) => headers[name] = value);
        }
    }

    public Context Extract(IReadOnlyDictionary<string, string> carrier)
    {
        ArgumentNullException.ThrowIfNull(carrier);
        var trusted = settings.IncomingRequestIds == RequestContextTrust.Trust;

        string requestId;
        string? clientRequestId = null;
        if (carrier.TryGetValue(settings.OutgoingRequestIdHeader, out var incoming) && incoming is not null)
        {
            var (problem, accepted, kept) = RequestIdValidator.Decide(incoming, 1, trusted, settings.MaxRequestIdLength);
            requestId = accepted ? incoming : settings.GenerateRequestId(out _);
            clientRequestId = kept;
            if (problem != RequestIdProblem.None)
            {
                Log.InvalidRequestId(logger, settings.OutgoingRequestIdHeader, requestId,
                    RequestIdValidator.Describe(problem, settings.MaxRequestIdLength));
            }
        }
        else
        {
            requestId = settings.GenerateRequestId(out _);
        }

        carrier.TryGetValue(TraceHeaders.TraceParent, out var traceParent);
        carrier.TryGetValue(TraceHeaders.TraceState, out var traceState);
        TraceContext trace;
        if (settings.IncomingTraceContext == RequestContextTrust.Trust && TraceParent.TryParse(traceParent, out var parent))
        {
            trace = new TraceContext(
                parent.TraceId.ToHexString(),
                ActivitySpanId.CreateRandom().ToHexString(),
                parent.ParentSpanId.ToHexString(),
                parent.Flags,
                TraceState.Validate(traceState));
        }
        else
        {
            trace = new TraceContext(
                ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString(), null, sampled: true, null);
        }

        var context = new Context();
        context.Run(() => ContextVar.SetMany(
            RequestContext.RequestId, requestId,
            RequestContext.ClientRequestId, clientRequestId,
            RequestContext.Trace, trace));
        return context;
    }
}
