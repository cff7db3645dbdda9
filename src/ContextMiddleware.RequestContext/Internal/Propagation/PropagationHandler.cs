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

    /// <summary>
    /// Set on every request this handler sends: which of the headers the context writes the app had set on the request
    /// itself (<see cref="AppHeaders"/>), so that the propagator leaves those alone and owns the others.
    /// </summary>
    private static readonly HttpRequestOptionsKey<object> s_appHeadersKey = new("ContextMiddleware.RequestContext.AppHeaders");

    // Boxed once: a request stores one of these, never a new box.
    private static readonly object[] s_appHeaders = [AppHeaders.None, AppHeaders.TraceParent, AppHeaders.Baggage, AppHeaders.TraceParent | AppHeaders.Baggage];

    private int _primaryHonoursAllowList; // 0 unknown, 1 yes, 2 no

    /// <summary>The context's headers the app set on a request itself.</summary>
    [Flags]
    public enum AppHeaders
    {
        None = 0,
        TraceParent = 1,
        Baggage = 2,
    }

    /// <summary>The <c>baggage</c> the app set on a request itself, kept to put back if other code replaced it.</summary>
    private static readonly HttpRequestOptionsKey<string[]> s_appBaggageKey = new("ContextMiddleware.RequestContext.AppBaggage");

    /// <summary>The <c>baggage</c> lines the app set on <paramref name="request"/>, or <see langword="null"/>.</summary>
    public static string[]? AppBaggageOf(HttpRequestMessage request) =>
        request.Options.TryGetValue(s_appBaggageKey, out var lines) ? lines : null;

    /// <summary>Which headers the app set on <paramref name="request"/>; <see langword="null"/> when this handler did not send it.</summary>
    public static AppHeaders? AppHeadersOf(HttpRequestMessage request) =>
        request.Options.TryGetValue(s_appHeadersKey, out var flags) ? (AppHeaders)flags : null;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Prepare(request);
        return base.SendAsync(request, cancellationToken);
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Prepare(request);
        return base.Send(request, cancellationToken);
    }

    /// <summary>Adds the context's headers to a request to an allowed host (or refuses a host the primary handler cannot keep them from).</summary>
    private void Prepare(HttpRequestMessage request)
    {
        var app = (request.Headers.Contains(TraceHeaders.TraceParent) ? AppHeaders.TraceParent : AppHeaders.None) |
            (request.Headers.Contains(W3CBaggage.HeaderName) ? AppHeaders.Baggage : AppHeaders.None);
        request.Options.Set(s_appHeadersKey, s_appHeaders[(int)app]);
        if ((app & AppHeaders.Baggage) != 0 && request.Headers.TryGetValues(W3CBaggage.HeaderName, out var appBaggage))
        {
            request.Options.Set(s_appBaggageKey, [.. appBaggage]);
        }
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

            // With an Activity, the runtime's DiagnosticsHandler writes traceparent and baggage through our propagator,
            // on each hop of a redirect, with the allow-lists applied to each. Without one, nothing would: write the
            // request's trace context ourselves, each call with a parent-id of its own, as each would have with a client
            // span (a redirect then keeps what was written: see PropagationAllowedHosts).
            if (Activity.Current is null)
            {
                if (RequestContext.Trace.Get() is { } trace && (app & AppHeaders.TraceParent) == 0)
                {
                    TraceHeaders.Write(trace.WithSpanId(ActivitySpanId.CreateRandom().ToHexString()), headers,
                        static (carrier, name, value) => carrier.TryAddWithoutValidation(name, value));
                }

                // Likewise the baggage (with an Activity the propagator writes it, replacing OpenTelemetry's).
                if ((app & AppHeaders.Baggage) == 0 && settings.BaggageDestinations.IsAllowed(request.RequestUri) &&
                    BaggageWriter.Compose(settings) is { } baggage)
                {
                    headers.TryAddWithoutValidation(W3CBaggage.HeaderName, baggage);
                }
            }
        }
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
