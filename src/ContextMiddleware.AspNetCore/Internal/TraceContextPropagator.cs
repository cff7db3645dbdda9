using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// The W3C Trace Context propagator that <c>AddRequestContext()</c> puts in place of the runtime's: ASP.NET Core's
/// hosting extracts each request's trace context through it, and clients with <c>AddRequestContextPropagation()</c>
/// inject through it. Baggage is left to the runtime's default propagator.
/// </summary>
/// <remarks>
/// <para>
/// Extraction follows the recommendation where the runtime's own propagator does not: a future-version traceparent
/// is read by position and continued as version 00; repeated traceparent headers restart the trace; repeated
/// tracestate headers are combined; tracestate is validated member by member and kept intact (any length) or dropped
/// whole; an untrusted caller's trace headers are ignored.
/// </para>
/// <para>
/// When the carrier is a request's header dictionary the headers are normalised in place, so that whatever reads
/// them later (OpenTelemetry's ASP.NET Core instrumentation re-extracts with its own propagator) sees the same trace
/// context as the request's Activity: an untrusted caller's <c>traceparent</c>, <c>tracestate</c> and <c>baggage</c>
/// are removed, an invalid traceparent is removed with its tracestate, a future version is rewritten as 00, repeated
/// tracestate headers become one, and an invalid tracestate is removed.
/// </para>
/// </remarks>
internal sealed class TraceContextPropagator(
    RequestContextSettings settings,
    ILogger<TraceContextPropagator> logger,
    IHttpContextAccessor? httpContextAccessor = null) : DistributedContextPropagator
{
    private const string Baggage = "baggage";
    private const string CorrelationContext = "Correlation-Context";
    private static readonly DistributedContextPropagator s_runtime = CreateDefaultPropagator();

    public override IReadOnlyCollection<string> Fields => s_runtime.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (activity is null || setter is null ||
            (carrier is HttpRequestMessage request && !settings.IsPropagationAllowed(request.RequestUri)))
        {
            return;
        }

        if (activity.IdFormat != ActivityIdFormat.W3C)
        {
            s_runtime.Inject(activity, carrier, setter);
            return;
        }

        setter(carrier, TraceHeaders.TraceParent, TraceParent.Format(activity.TraceId.ToHexString(), activity.SpanId.ToHexString(), FlagsOf(activity)));
        if (activity.TraceStateString is { Length: > 0 } traceState)
        {
            setter(carrier, TraceHeaders.TraceState, traceState);
        }

        using var baggage = activity.Baggage.GetEnumerator();
        if (baggage.MoveNext())
        {
            // The runtime writes the baggage header; its trace headers were written above.
            s_runtime.Inject(activity, carrier, (target, name, value) =>
            {
                if (name is not (TraceHeaders.TraceParent or TraceHeaders.TraceState))
                {
                    setter(target, name, value);
                }
            });
        }
    }

    public override void ExtractTraceIdAndState(
        object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        if (carrier is IHeaderDictionary headers)
        {
            Extract(headers, IsTrusted(headers), out traceId, out traceState);
            return;
        }

        traceId = null;
        traceState = null;
        if (getter is null)
        {
            return;
        }

        getter(carrier, TraceHeaders.TraceParent, out var value, out var values);
        var parents = values is null ? new StringValues(value) : new StringValues([.. values]);
        if (parents.Count != 1 || !TraceParent.TryParse(parents[0], out var parent))
        {
            return;
        }

        traceId = parent.Version == 0 ? parents[0] : parent.ToString();
        getter(carrier, TraceHeaders.TraceState, out value, out values);
        traceState = TraceState.Validate(values is null ? new StringValues(value) : new StringValues([.. values]));
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        s_runtime.ExtractBaggage(carrier, getter);

    /// <summary>
    /// Extracts a request's trace context, normalising its headers in place (see the remarks on the class).
    /// </summary>
    /// <returns>Whether the request continues the caller's trace.</returns>
    public bool Extract(IHeaderDictionary headers, bool trusted, out string? traceParent, out string? traceState)
    {
        traceParent = null;
        traceState = null;
        var parents = headers[TraceHeaders.TraceParent];
        if (!trusted)
        {
            if (parents.Count != 0 || headers.ContainsKey(TraceHeaders.TraceState) || headers.ContainsKey(Baggage))
            {
                headers.Remove(TraceHeaders.TraceParent);
                headers.Remove(TraceHeaders.TraceState);
                headers.Remove(Baggage);
                headers.Remove(CorrelationContext);
                Log.UntrustedTraceContext(logger);
            }

            return false;
        }

        if (parents.Count == 0)
        {
            headers.Remove(TraceHeaders.TraceState); // tracestate without traceparent means nothing
            return false;
        }

        if (parents.Count != 1 || !TraceParent.TryParse(parents[0], out var parent))
        {
            headers.Remove(TraceHeaders.TraceParent);
            headers.Remove(TraceHeaders.TraceState);
            Log.InvalidTraceParent(logger, parents.Count);
            return false;
        }

        traceParent = parents[0]!;
        if (parent.Version != 0)
        {
            traceParent = parent.ToString();
            headers[TraceHeaders.TraceParent] = traceParent;
        }

        var states = headers[TraceHeaders.TraceState];
        if (states.Count != 0)
        {
            traceState = TraceState.Validate(states);
            if (traceState is null)
            {
                headers.Remove(TraceHeaders.TraceState);
                Log.InvalidTraceState(logger);
            }
            else if (states.Count > 1)
            {
                headers[TraceHeaders.TraceState] = traceState;
            }
        }

        return true;
    }

    /// <summary>The Activity's flags, with the caller's Level 2 random flag when the Activity continues its trace.</summary>
    private static byte FlagsOf(Activity activity)
    {
        var flags = (byte)activity.ActivityTraceFlags;
        if ((flags & TraceParent.RandomFlag) == 0 && RequestContext.Trace.Get() is { } trace &&
            (trace.Flags & TraceParent.RandomFlag) != 0 &&
            string.Equals(trace.TraceId, activity.TraceId.ToHexString(), StringComparison.Ordinal))
        {
            flags |= TraceParent.RandomFlag;
        }

        return flags;
    }

    /// <summary>
    /// Whether the request whose headers these are may choose its trace context. Under trusted networks the request is
    /// found through <see cref="IHttpContextAccessor"/> (hosting extracts before any middleware runs).
    /// </summary>
    private bool IsTrusted(IHeaderDictionary headers)
    {
        var trust = settings.IncomingTraceContext;
        if (trust != RequestContextTrust.TrustedNetworks)
        {
            return trust == RequestContextTrust.Trust;
        }

        var context = httpContextAccessor?.HttpContext;
        return context is not null && ReferenceEquals(context.Request.Headers, headers) &&
            settings.IsTrusted(trust, context.Connection.RemoteIpAddress);
    }
}
