using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Propagation;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes HttpClients carry the request context on.</summary>
public static class RequestContextHttpClientBuilderExtensions
{
    /// <summary>
    /// Sends the current request id (header <c>RequestContextOptions.OutgoingRequestIdHeader</c>) and the W3C trace
    /// headers on every request of this client, to the hosts <c>RequestContextOptions.PropagationAllowedHosts</c>
    /// allows (every host by default). Headers already on a request are left as they are. The trace headers are
    /// written by ContextMiddleware's W3C Trace Context propagator in place of the runtime's: a new parent-id for
    /// every call, the incoming flags (sampled and the Level 2 random flag) and the tracestate intact, and nothing to
    /// disallowed hosts.
    /// </summary>
    /// <param name="builder">The HttpClient builder.</param>
    /// <returns>The HttpClient builder.</returns>
    public static IHttpClientBuilder AddRequestContextPropagation(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRequestContextCore();
        builder.AddHttpMessageHandler(static provider => new PropagationHandler(provider.GetRequiredService<RequestContextSettings>()));
        builder.ConfigurePrimaryHttpMessageHandler(static (handler, provider) =>
        {
            if (handler is SocketsHttpHandler sockets)
            {
                sockets.ActivityHeadersPropagator = provider.GetRequiredService<W3CTraceContextPropagator>();
            }
        });
        return builder;
    }
}
