using ContextMiddleware.AspNetCore.Internal;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Makes HttpClients carry the request context on.</summary>
public static class RequestContextHttpClientBuilderExtensions
{
    /// <summary>
    /// Sends the current request id (header <c>RequestContextOptions.OutgoingRequestIdHeader</c>) and the W3C trace
    /// headers on every request of this client, to the hosts <c>RequestContextOptions.PropagationAllowedHosts</c>
    /// allows (every host by default). Headers already on a request are left as they are, and the runtime's own
    /// trace propagation to disallowed hosts is switched off for this client.
    /// </summary>
    /// <param name="builder">The HttpClient builder.</param>
    /// <returns>The HttpClient builder.</returns>
    public static IHttpClientBuilder AddRequestContextPropagation(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRequestContext();
        builder.AddHttpMessageHandler(static provider => new PropagationHandler(provider.GetRequiredService<RequestContextSettings>()));
        builder.ConfigurePrimaryHttpMessageHandler(static (handler, provider) =>
        {
            if (handler is SocketsHttpHandler sockets)
            {
                sockets.ActivityHeadersPropagator = new AllowListPropagator(provider.GetRequiredService<RequestContextSettings>());
            }
        });
        return builder;
    }
}
