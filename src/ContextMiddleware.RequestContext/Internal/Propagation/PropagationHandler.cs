using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Baggage;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Tracing;

namespace ContextMiddleware.AspNetCore.Internal.Propagation;

/// <summary>
/// Adds the current request id (and, when no Activity exists for the runtime to propagate, the trace headers) to
/// outgoing HttpClient requests whose host is allowed. Headers already on the request are left alone.
/// </summary>
/// <remarks>
/// The trace headers of an Activity are written by the primary handler. A <see cref="SocketsHttpHandler"/> gets
/// ContextMiddleware's propagator, which applies the allow-list; any other primary handler (an
/// <see cref="HttpClientHandler"/>) writes them through the runtime's global propagator, which nothing here can keep
/// from a host: a request to a host outside the allow-list through such a handler is refused with an
/// <see cref="InvalidOperationException"/> that names the fix, rather than sent with the trace.
/// </remarks>
internal sealed class PropagationHandler(RequestContextSettings settings) : DelegatingHandler
{
    /// <summary>Set on a request whose request-id header this handler added.</summary>
    public static readonly HttpRequestOptionsKey<bool> AddedRequestIdKey = new("ContextMiddleware.RequestContext.AddedRequestId");

    /// <summary>Set on a request whose <c>baggage</c> header this handler added.</summary>
    public static readonly HttpRequestOptionsKey<bool> AddedBaggageKey = new("ContextMiddleware.RequestContext.AddedBaggage");

    private int _primaryHonoursAllowList; // 0 unknown, 1 yes, 2 no

    /// <summary>Takes off the <c>baggage</c> header this handler added (a redirect led to a host that may not have it).</summary>
    public static void RemoveAddedBaggage(HttpRequestMessage request)
    {
        if (request.Options.TryGetValue(AddedBaggageKey, out var added) && added)
        {
            request.Headers.Remove(W3CBaggage.HeaderName);
            request.Options.Set(AddedBaggageKey, false);
        }
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!settings.Destinations.IsAllowed(request.RequestUri))
        {
            if (!PrimaryHonoursAllowList())
            {
                var primary = Primary();
                var fix = primary is SocketsHttpHandler
                    ? "Its ActivityHeadersPropagator is not ContextMiddleware's: call ConfigurePrimaryHttpMessageHandler before AddRequestContextPropagation() " +
                      "(a handler configured after it replaces the one it set up), or set ActivityHeadersPropagator to null or to the W3CTraceContextPropagator service."
                    : "Use a SocketsHttpHandler as the primary handler (it has the settings of HttpClientHandler), configured before AddRequestContextPropagation().";
                throw new InvalidOperationException(
                    $"The request to '{request.RequestUri?.IdnHost}' must not carry the request context (it is not in RequestContext:PropagationAllowedHosts), " +
                    $"but this HttpClient's primary handler ({primary.GetType().FullName}) writes trace headers through a propagator that cannot keep them " +
                    $"from that host. {fix}");
            }
        }
        else
        {
            var headers = request.Headers;
            if (RequestContext.RequestId.Get() is { } requestId && !headers.Contains(settings.OutgoingRequestIdHeader))
            {
                headers.TryAddWithoutValidation(settings.OutgoingRequestIdHeader, requestId);

                // Marked as ours, so that the propagator takes it off again if a redirect leads outside the allow-list.
                request.Options.Set(AddedRequestIdKey, true);
            }

            // The one baggage header: the runtime's propagator (ours or its own) and OpenTelemetry's do not add a second.
            if (!headers.Contains(W3CBaggage.HeaderName) && settings.BaggageDestinations.IsAllowed(request.RequestUri) &&
                BaggageWriter.Compose(settings) is { } baggage)
            {
                headers.TryAddWithoutValidation(W3CBaggage.HeaderName, baggage);
                request.Options.Set(AddedBaggageKey, true);
            }

            // With an Activity, the runtime's DiagnosticsHandler writes traceparent (through our propagator, which
            // applies the same allow-list). Without one, nothing would: write the request's trace context ourselves,
            // each call with a parent-id of its own, as each would have with a client span.
            if (Activity.Current is null && RequestContext.Trace.Get() is { } trace && !headers.Contains(TraceHeaders.TraceParent))
            {
                TraceHeaders.Write(trace.WithSpanId(ActivitySpanId.CreateRandom().ToHexString()), headers,
                    static (carrier, name, value) => carrier.TryAddWithoutValidation(name, value));
            }
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Whether the primary handler writes trace headers through ContextMiddleware's propagator, or none at all; found
    /// once (the handler chain is fixed once built).
    /// </summary>
    private bool PrimaryHonoursAllowList()
    {
        var known = Volatile.Read(ref _primaryHonoursAllowList);
        if (known == 0)
        {
            known = Primary() is SocketsHttpHandler { ActivityHeadersPropagator: null or W3CTraceContextPropagator } ? 1 : 2;
            Volatile.Write(ref _primaryHonoursAllowList, known);
        }

        return known == 1;
    }

    /// <summary>The handler at the end of the chain.</summary>
    private HttpMessageHandler Primary()
    {
        var handler = InnerHandler!;
        while (handler is DelegatingHandler { InnerHandler: { } inner })
        {
            handler = inner;
        }

        return handler;
    }
}
