using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Logging;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>
/// The <see cref="DistributedContextPropagator"/> that <c>AddRequestContext()</c> gives ASP.NET Core's hosting: the
/// <see cref="W3CTraceContextPropagator"/>, with the trust policy applied to each request's trace headers and the
/// headers normalised in place.
/// </summary>
/// <remarks>
/// Normalising the request's headers makes whatever reads them later (OpenTelemetry's ASP.NET Core instrumentation
/// re-extracts with its own propagator) see the same trace context as the request's Activity: an untrusted caller's
/// <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c> are removed, an invalid traceparent is removed with its
/// tracestate, a future version is rewritten as 00, repeated tracestate headers become one, and an invalid tracestate
/// is removed. Hosting extracts before any middleware runs, so under <see cref="RequestContextTrust.TrustedNetworks"/>
/// the caller's address is found through <see cref="IHttpContextAccessor"/>.
/// </remarks>
internal sealed class HostingTraceContextPropagator(
    W3CTraceContextPropagator w3c,
    IRequestContextTrustPolicy trust,
    ILogger<HostingTraceContextPropagator> logger,
    IHttpContextAccessor? httpContextAccessor = null) : DistributedContextPropagator
{
    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";
    private const string Baggage = "baggage";
    private const string CorrelationContext = "Correlation-Context";

    /// <summary>Reads a request header for a propagator, each header line a value of its own.</summary>
    public static readonly PropagatorGetterCallback HeaderGetter =
        static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            var found = ((IHeaderDictionary)carrier!)[name];
            value = found.Count <= 1 ? found.ToString() : null;
            values = found.Count <= 1 ? null : (IEnumerable<string>)found.ToArray()!;
        };

    public override IReadOnlyCollection<string> Fields => w3c.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) =>
        w3c.Inject(activity, carrier, setter);

    public override void ExtractTraceIdAndState(
        object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        if (carrier is IHeaderDictionary headers)
        {
            Extract(headers, IsTrusted(headers), out traceId, out traceState);
            return;
        }

        w3c.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        w3c.ExtractBaggage(carrier, getter);

    /// <summary>
    /// Extracts a request's trace context, normalising its headers in place (see the remarks on the class): for hosting,
    /// and for the middleware when hosting started no Activity.
    /// </summary>
    public void Extract(IHeaderDictionary headers, bool trusted, out string? traceParent, out string? traceState)
    {
        traceParent = null;
        traceState = null;
        var parents = headers[TraceParent];
        if (!trusted)
        {
            if (parents.Count != 0 || headers.ContainsKey(TraceState) || headers.ContainsKey(Baggage))
            {
                headers.Remove(TraceParent);
                headers.Remove(TraceState);
                headers.Remove(Baggage);
                headers.Remove(CorrelationContext);
                HttpLog.UntrustedTraceContext(logger);
            }

            return;
        }

        if (parents.Count == 0)
        {
            headers.Remove(TraceState); // tracestate without traceparent means nothing
            return;
        }

        w3c.ExtractTraceIdAndState(headers, HeaderGetter, out traceParent, out traceState);
        if (traceParent is null)
        {
            headers.Remove(TraceParent);
            headers.Remove(TraceState);
            HttpLog.InvalidTraceParent(logger, parents.Count);
            return;
        }

        if (!string.Equals(traceParent, parents[0], StringComparison.Ordinal))
        {
            headers[TraceParent] = traceParent; // a future version, continued as 00
        }

        var states = headers[TraceState];
        if (states.Count != 0 && traceState is null)
        {
            headers.Remove(TraceState);
            HttpLog.InvalidTraceState(logger);
        }
        else if (states.Count > 1)
        {
            headers[TraceState] = traceState;
        }
    }

    private bool IsTrusted(IHeaderDictionary headers)
    {
        // Only the address is missing here; where the policy can decide without it, no HttpContext is needed.
        if (trust.IsTrusted(IncomingValue.TraceContext, null))
        {
            return true;
        }

        var context = httpContextAccessor?.HttpContext;
        return context is not null && ReferenceEquals(context.Request.Headers, headers) &&
            trust.IsTrusted(IncomingValue.TraceContext, context.Connection.RemoteIpAddress);
    }
}
