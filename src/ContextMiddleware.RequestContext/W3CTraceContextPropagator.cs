using System.Diagnostics;
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
/// <see cref="RequestContextOptions.PropagationAllowedHosts"/>. Baggage is left to the runtime's default propagator.
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
        if (carrier is HttpRequestMessage request && !_settings.Destinations.IsAllowed(request.RequestUri))
        {
            // Also each hop of a redirect: a host in the allow-list may send the request on to one outside it, with the
            // request id that AddRequestContextPropagation() added for the first host.
            if (request.Options.TryGetValue(PropagationHandler.AddedRequestIdKey, out var added) && added)
            {
                request.Headers.Remove(_settings.OutgoingRequestIdHeader);
                request.Options.Set(PropagationHandler.AddedRequestIdKey, false);
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

        using var baggage = activity.Baggage.GetEnumerator();
        if (baggage.MoveNext())
        {
            // The runtime writes the baggage header; the trace headers were written above.
            s_runtime.Inject(activity, carrier, (target, name, value) =>
            {
                if (name is not (TraceHeaders.TraceParent or TraceHeaders.TraceState))
                {
                    setter(target, name, value);
                }
            });
        }
    }

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
    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        s_runtime.ExtractBaggage(carrier, getter);

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
