using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>
/// The <see cref="DistributedContextPropagator"/> that <c>AddRequestContext()</c> gives ASP.NET Core's hosting: once
/// <c>UseRequestContext()</c> is called, the <see cref="W3CTraceContextPropagator"/> with the trust policy applied to
/// each request's trace headers and the headers normalised in place; until then, the runtime's own
/// (<see cref="DistributedContextPropagator.Current"/>), so requests are read exactly as without the suite.
/// </summary>
/// <remarks>
/// <para>
/// Normalising the request's headers makes whatever reads them later (OpenTelemetry's ASP.NET Core instrumentation
/// re-extracts with its own propagator) see the same trace context as the request's Activity: an untrusted caller's
/// <c>traceparent</c> and <c>tracestate</c> are removed (and <c>baggage</c> and <c>Correlation-Context</c> when it is
/// not trusted with baggage), a trusted caller's <c>baggage</c> is rewritten to the members the app keeps, an invalid
/// traceparent is removed with its tracestate, a future version is rewritten as 00, repeated tracestate headers become
/// one, and an invalid tracestate is removed.
/// </para>
/// <para>
/// Hosting extracts before any middleware runs and gives the propagator only the headers: the caller's address is
/// found through <see cref="IHttpContextAccessor"/> (which <c>AddRequestContext()</c> adds under
/// <see cref="RequestContextTrust.TrustedNetworks"/>, and <c>UseRequestContext()</c> requires with a policy of the
/// app's). What was done is logged when the request's context begins (<see cref="TakePending"/>), so the records carry
/// the request's ids.
/// </para>
/// </remarks>
internal sealed class HostingTraceContextPropagator : DistributedContextPropagator
{
    private const string TraceParent = "traceparent";
    private const string TraceState = "tracestate";
    private const string Baggage = "baggage";
    private const string CorrelationContext = "Correlation-Context";

    // Hosting extracts, then starts the Activity and raises its start event, synchronously on one thread: what the
    // extraction did waits here for the start event, which begins the request's context and logs it.
    [ThreadStatic]
    private static IHeaderDictionary? t_pendingHeaders;
    [ThreadStatic]
    private static TraceHeaderOutcome t_pending;

    private readonly W3CTraceContextPropagator _w3c;
    private readonly IRequestContextTrustPolicy _trust;
    private readonly bool _defaultPolicy;
    private readonly HttpRequestContexts _contexts;
    private readonly ILogger _logger;
    private readonly IHttpContextAccessor? _httpContextAccessor;

    public HostingTraceContextPropagator(
        W3CTraceContextPropagator w3c,
        IRequestContextTrustPolicy trust,
        HttpRequestContexts contexts,
        ILogger<HostingTraceContextPropagator> logger,
        IHttpContextAccessor? httpContextAccessor = null)
    {
        _w3c = w3c;
        _trust = trust;
        _defaultPolicy = IsDefault(trust);
        _contexts = contexts;
        _logger = logger;
        _httpContextAccessor = httpContextAccessor;
    }

    /// <summary>Reads a request header for a propagator, each header line a value of its own.</summary>
    public static readonly PropagatorGetterCallback HeaderGetter =
        static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            var found = ((IHeaderDictionary)carrier!)[name];
            value = found.Count <= 1 ? found.ToString() : null;
            values = found.Count <= 1 ? null : (IEnumerable<string>)found.ToArray()!;
        };

    public override IReadOnlyCollection<string> Fields => _w3c.Fields;

    /// <summary>Whether <paramref name="trust"/> is the suite's own policy, whose answer needs no address unless it trusts networks.</summary>
    public static bool IsDefault(IRequestContextTrustPolicy trust) =>
        trust.GetType().Assembly == typeof(IRequestContextTrustPolicy).Assembly;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter) =>
        _w3c.Inject(activity, carrier, setter);

    public override void ExtractTraceIdAndState(
        object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        if (carrier is IHeaderDictionary headers && _contexts.Enabled)
        {
            var context = _httpContextAccessor?.HttpContext;
            if (context is not null && !ReferenceEquals(context.Request.Headers, headers))
            {
                context = null;
            }

            var outcome = Extract(headers, context, out traceId, out traceState);

            // When a sampler drops the request, hosting extracts a second time, from the headers the first extraction
            // normalised: keep what the first one found.
            if (!ReferenceEquals(t_pendingHeaders, headers) || outcome != default || t_pending == default)
            {
                t_pending = outcome;
            }

            t_pendingHeaders = headers;
            return;
        }

        Runtime.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);
    }

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        _contexts.Enabled ? _w3c.ExtractBaggage(carrier, getter) : Runtime.ExtractBaggage(carrier, getter);

    /// <summary>
    /// What hosting would use without <c>AddRequestContext()</c>: the runtime's current propagator (unless the app made
    /// this one current).
    /// </summary>
    private DistributedContextPropagator Runtime =>
        DistributedContextPropagator.Current is var current && !ReferenceEquals(current, this) ? current : _w3c;

    /// <summary>
    /// Whether hosting extracted <paramref name="headers"/> on this thread and nobody took what it did yet; what was
    /// pending is cleared either way.
    /// </summary>
    public static bool TakePending(IHeaderDictionary headers, out TraceHeaderOutcome outcome)
    {
        var found = t_pendingHeaders is not null && ReferenceEquals(t_pendingHeaders, headers);
        outcome = found ? t_pending : default;
        if (t_pendingHeaders is not null)
        {
            t_pendingHeaders = null;
            t_pending = default;
        }

        return found;
    }

    /// <summary>
    /// Extracts a request's trace context, normalising its headers in place (see the remarks on the class): for hosting,
    /// and for the middleware when hosting started no Activity.
    /// </summary>
    /// <param name="headers">The request's headers.</param>
    /// <param name="context">The request, when known: the trust policy is asked with its connection's address.</param>
    /// <param name="traceParent">The traceparent to continue, or <see langword="null"/>.</param>
    /// <param name="traceState">Its tracestate, or <see langword="null"/>.</param>
    public TraceHeaderOutcome Extract(IHeaderDictionary headers, HttpContext? context, out string? traceParent, out string? traceState)
    {
        Exception? baggageFailure = null;
        var untrustedBaggage = false;
        StringValues originalBaggage = default;
        if (headers.ContainsKey(Baggage) || headers.ContainsKey(CorrelationContext))
        {
            if (!Trusts(context, IncomingValue.Baggage, ref baggageFailure))
            {
                headers.Remove(Baggage);
                headers.Remove(CorrelationContext);
                untrustedBaggage = true;
            }
            else if (headers[Baggage] is { Count: > 0 } lines)
            {
                // What OpenTelemetry's instrumentation reads again is what the request's variables hold.
                var kept = _w3c.NormalizeBaggage(lines);
                if (!SameLines(kept, lines))
                {
                    originalBaggage = lines;
                    if (kept.Count == 0)
                    {
                        headers.Remove(Baggage);
                    }
                    else
                    {
                        headers[Baggage] = kept;
                    }
                }
            }
        }

        Exception? traceFailure = null;
        var outcome = ExtractTrace(headers, context, ref traceFailure, out traceParent, out traceState);

        // One failure per call is logged: the trace question's, else the baggage question's, named as such.
        return outcome with
        {
            TrustFailure = traceFailure ?? baggageFailure,
            // Left at its default otherwise: a second extraction's outcome is compared with the default one (above).
            TrustFailureValue = traceFailure is null && baggageFailure is not null ? IncomingValue.Baggage : default,
            UntrustedBaggage = untrustedBaggage,
            OriginalBaggage = originalBaggage,
        };
    }

    private static bool SameLines(StringValues kept, StringValues lines)
    {
        if (kept.Count != lines.Count)
        {
            return false;
        }

        for (var i = 0; i < kept.Count; i++)
        {
            if (!ReferenceEquals(kept[i], lines[i]))
            {
                return false;
            }
        }

        return true;
    }

    private TraceHeaderOutcome ExtractTrace(
        IHeaderDictionary headers, HttpContext? context, ref Exception? trustFailure, out string? traceParent, out string? traceState)
    {
        traceParent = null;
        traceState = null;
        var parents = headers[TraceParent];
        if (!Trusts(context, IncomingValue.TraceContext, ref trustFailure))
        {
            if (parents.Count != 0 || headers.ContainsKey(TraceState))
            {
                headers.Remove(TraceParent);
                headers.Remove(TraceState);
                return new(TraceHeaderProblem.Untrusted);
            }

            return new(TraceHeaderProblem.None);
        }

        if (parents.Count == 0)
        {
            headers.Remove(TraceState); // tracestate without traceparent means nothing
            return default;
        }

        _w3c.ExtractTraceIdAndState(headers, HeaderGetter, out traceParent, out traceState);
        if (traceParent is null)
        {
            headers.Remove(TraceParent);
            headers.Remove(TraceState);
            return new(TraceHeaderProblem.InvalidTraceParent, parents.Count);
        }

        if (!string.Equals(traceParent, parents[0], StringComparison.Ordinal))
        {
            headers[TraceParent] = traceParent; // a future version, continued as 00
        }

        var states = headers[TraceState];
        if (states.Count != 0 && traceState is null)
        {
            headers.Remove(TraceState);
            return new(TraceHeaderProblem.InvalidTraceState);
        }

        if (states.Count > 1)
        {
            headers[TraceState] = traceState;
        }

        return default;
    }

    /// <summary>
    /// Logs what an extraction did; called where the request's context is current. A failure of the trust policy is
    /// not logged here: the call carries it to <see cref="IRequestContextPropagator.BeginCall"/>, which logs it once.
    /// </summary>
    public void Log(in TraceHeaderOutcome outcome, System.Net.IPAddress? remoteAddress)
    {
        if (outcome.UntrustedBaggage)
        {
            HttpLog.UntrustedBaggage(_logger, remoteAddress);
        }

        switch (outcome.Problem)
        {
            case TraceHeaderProblem.Untrusted:
                HttpLog.UntrustedTraceContext(_logger);
                break;
            case TraceHeaderProblem.InvalidTraceParent:
                HttpLog.InvalidTraceParent(_logger, outcome.Count);
                break;
            case TraceHeaderProblem.InvalidTraceState:
                HttpLog.InvalidTraceState(_logger);
                break;
        }
    }

    /// <summary>
    /// Whether the caller is believed with trace headers: the policy asked with the connection's address. Where the
    /// request is not known, only the suite's own policy is asked (its answer then needs no address, or is "no" under
    /// TrustedNetworks); a policy of the app's is never asked about an HTTP caller as if it had no address. A policy that
    /// throws fails closed.
    /// </summary>
    private bool Trusts(HttpContext? context, IncomingValue value, ref Exception? failure)
    {
        if (context is null && !_defaultPolicy)
        {
            return false;
        }

        try
        {
            return _trust.IsTrusted(value, context?.Connection.RemoteIpAddress);
        }
        catch (Exception exception)
        {
            failure ??= exception;
            return false;
        }
    }
}
