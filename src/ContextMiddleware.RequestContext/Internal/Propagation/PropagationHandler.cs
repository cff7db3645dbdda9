using System.Diagnostics;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Tracing;

namespace ContextMiddleware.AspNetCore.Internal.Propagation;

/// <summary>
/// Adds the current request id (and, when no Activity exists for the runtime to propagate, the trace headers) to
/// outgoing HttpClient requests whose host is allowed. Headers already on the request are left alone.
/// </summary>
internal sealed class PropagationHandler(RequestContextSettings settings) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (settings.Destinations.IsAllowed(request.RequestUri))
        {
            var headers = request.Headers;
            if (RequestContext.RequestId.Get() is { } requestId && !headers.Contains(settings.OutgoingRequestIdHeader))
            {
                headers.TryAddWithoutValidation(settings.OutgoingRequestIdHeader, requestId);
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
}
