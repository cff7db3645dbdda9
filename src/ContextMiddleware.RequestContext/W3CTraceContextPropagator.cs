using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Baggage;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Propagation;
using ContextMiddleware.AspNetCore.Internal.Tracing;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// ContextMiddleware's W3C Trace Context propagator, for the runtime's <see cref="DistributedContextPropagator"/>
/// extension point: HttpClients with <c>AddRequestContextPropagation()</c> inject through it, and
/// <c>AddRequestContext()</c> makes ASP.NET Core's hosting extract through it. Resolve it from the service provider.
/// </summary>
/// <remarks>
/// <para>
/// Extraction follows the recommendation where the runtime's own propagator does not: a future-version traceparent is
/// read by position and continued as version 00; repeated traceparent headers restart the trace; repeated tracestate
/// headers are combined; tracestate is validated member by member and kept intact (any length) or dropped whole.
/// </para>
/// <para>
/// Injection writes a version 00 traceparent naming the Activity's span, with the Level 2 random flag of the incoming
/// trace kept, and the tracestate intact; nothing at all to hosts outside
/// <see cref="RequestContextOptions.PropagationAllowedHosts"/>.
/// </para>
/// <para>
/// Baggage follows <see cref="RequestContextOptions.Baggage"/>: extraction returns the members a trusted caller's header
/// comes down to (registered variables whose value passes its checks, then the others when they are passed through,
/// within 8,192 bytes), decoded; injection writes the registered variables' current values, the members passed on and
/// baggage the app added to the Activity under keys of its own, as one <c>baggage</c> header, only to hosts that
/// <see cref="RequestBaggageOptions.AllowedHosts"/> allows too. Values are percent-encoded as the runtime's W3C
/// propagator encodes them, and either reads what the other writes.
/// </para>
/// </remarks>
public sealed class W3CTraceContextPropagator : DistributedContextPropagator
{
    private static readonly DistributedContextPropagator s_runtime = CreateDefaultPropagator();
    private readonly RequestContextSettings _settings;

    internal W3CTraceContextPropagator(RequestContextSettings settings) => _settings = settings;

    /// <inheritdoc />
    public override IReadOnlyCollection<string> Fields => s_runtime.Fields;

    /// <inheritdoc />
    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        var request = carrier as HttpRequestMessage;
        if (request is not null && !_settings.Destinations.IsAllowed(request.RequestUri))
        {
            // Also each hop of a redirect: a host in the allow-list may send the request on to one outside it, with the
            // request id that AddRequestContextPropagation() added for the first host.
            if (request.Options.TryGetValue(PropagationHandler.AddedRequestIdKey, out var added) && added)
            {
                request.Headers.Remove(_settings.OutgoingRequestIdHeader);
                request.Options.Set(PropagationHandler.AddedRequestIdKey, false);
            }

            // OpenTelemetry's HttpClient instrumentation writes its trace headers and baggage before the runtime asks this
            // propagator: a host outside the allow-list gets none of them (unless the app set them on the request).
            if (PropagationHandler.AppHeadersOf(request) is { } app)
            {
                if ((app & PropagationHandler.AppHeaders.TraceParent) == 0)
                {
                    request.Headers.Remove(TraceHeaders.TraceParent);
                    request.Headers.Remove(TraceHeaders.TraceState);
                }

                if ((app & PropagationHandler.AppHeaders.Baggage) == 0)
                {
                    request.Headers.Remove(W3CBaggage.HeaderName);
                }
            }

            return;
        }

        if (activity is null || setter is null)
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

        if (request is null)
        {
            if (BaggageWriter.Compose(_settings) is { } baggage)
            {
                setter(carrier, W3CBaggage.HeaderName, baggage);
            }

            return;
        }

        // The one baggage header of an outgoing call is the suite's: it replaces the one OpenTelemetry's HttpClient
        // instrumentation wrote before (from Baggage.Current, to every host), unless the app set one on the request.
        var appHeaders = PropagationHandler.AppHeadersOf(request);
        if ((appHeaders & PropagationHandler.AppHeaders.Baggage) != 0)
        {
            // OpenTelemetry's instrumentation replaces even the app's own: put it back.
            if (PropagationHandler.AppBaggageOf(request) is { } appBaggage)
            {
                request.Headers.Remove(W3CBaggage.HeaderName);
                request.Headers.TryAddWithoutValidation(W3CBaggage.HeaderName, appBaggage);
            }

            return;
        }

        if (appHeaders is null)
        {
            // Not sent through AddRequestContextPropagation(): add, never replace.
            if (_settings.BaggageDestinations.IsAllowed(request.RequestUri) && BaggageWriter.Compose(_settings) is { } added)
            {
                setter(carrier, W3CBaggage.HeaderName, added);
            }

            return;
        }

        // What OpenTelemetry wrote holds what the app set in Baggage.Current: the suite's header keeps it.
        var replaced = request.Headers.TryGetValues(W3CBaggage.HeaderName, out var written) ? new StringValues([.. written]) : default;
        request.Headers.Remove(W3CBaggage.HeaderName);
        if (_settings.BaggageDestinations.IsAllowed(request.RequestUri) && BaggageWriter.Compose(_settings, replaced) is { } outgoing)
        {
            request.Headers.TryAddWithoutValidation(W3CBaggage.HeaderName, outgoing);
        }
    }

    /// <summary>
    /// Returns the <c>baggage</c> header that a trusted caller's <paramref name="lines"/> come down to under
    /// <see cref="RequestContextOptions.Baggage"/>: the lines themselves when every member is kept as it came, otherwise
    /// the members kept, without whitespace around separators, as one line (<see cref="StringValues.Empty"/> when none
    /// is). For transports that let other code read a call's headers again: ASP.NET Core's hosting writes it back into
    /// the request, so that OpenTelemetry's instrumentation sees the baggage the request's variables hold.
    /// </summary>
    /// <param name="lines">The <c>baggage</c> header lines, as received.</param>
    /// <returns>The header to keep.</returns>
    public StringValues NormalizeBaggage(StringValues lines) =>
        lines.Count == 0 ? lines : BaggageReader.Normalize(lines, _settings.Baggage);

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="traceId"/> is the traceparent to continue (a future version rewritten as 00), or
    /// <see langword="null"/> when there is none or it is invalid or repeated; <paramref name="traceState"/> is the
    /// combined, valid tracestate, or <see langword="null"/>.
    /// </remarks>
    public override void ExtractTraceIdAndState(
        object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState)
    {
        traceId = null;
        traceState = null;
        if (getter is null)
        {
            return;
        }

        var parents = Read(carrier, getter, TraceHeaders.TraceParent);
        if (parents.Count != 1 || !TraceParent.TryParse(parents[0], out var parent))
        {
            return;
        }

        traceId = parent.Version == 0 ? parents[0] : parent.ToString();
        traceState = TraceState.Validate(Read(carrier, getter, TraceHeaders.TraceState));
    }

    /// <inheritdoc />
    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter)
    {
        if (getter is null)
        {
            return null;
        }

        var lines = Read(carrier, getter, W3CBaggage.HeaderName);
        return lines.Count == 0 ? null : BaggageReader.Decode(lines, _settings.Baggage);
    }

    private static StringValues Read(object? carrier, PropagatorGetterCallback getter, string name)
    {
        getter(carrier, name, out var value, out var values);
        return values is null ? new StringValues(value) : new StringValues([.. values]);
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
}
