using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.SignalR.Internal;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Gives SignalR hub invocations request contexts of their own.</summary>
public static class RequestContextSignalRServerBuilderExtensions
{
    /// <summary>
    /// Runs every hub method invocation, <c>OnConnectedAsync</c> and <c>OnDisconnectedAsync</c> of every hub in a request
    /// context of its own, with the rules of HTTP requests (<c>AddRequestContext()</c>, which this calls, configures
    /// them): <see cref="RequestContext.RequestId"/> is the invocation's <c>X-Request-ID</c> header (any of
    /// <c>RequestContextOptions.RequestIdHeaders</c>) when the connection's caller is trusted for request ids and the id
    /// is valid, else a fresh id; <see cref="RequestContext.Trace"/> is the invocation's Activity's (SignalR's, whose
    /// parent is the invocation's <c>traceparent</c> only when the caller is trusted for trace headers; one is started
    /// when SignalR starts none); <see cref="ICurrentUser"/> reads the connection's current <c>Context.User</c>. Every
    /// log event of the invocation carries, besides its ids and user, <c>Hub</c>, <c>HubMethod</c>,
    /// <c>HubConnectionId</c> (SignalR's connection id: ASP.NET Core's <c>ConnectionId</c> is the TCP connection's) and <c>ConnectionRequestId</c> (the request id of the HTTP request that started the
    /// connection; also <see cref="HubRequestContext.ConnectionRequestId"/>). A stream a hub method returns
    /// (<c>IAsyncEnumerable&lt;T&gt;</c>) is enumerated in the invocation's context. The filter runs before the hub
    /// filters the app adds, so their events carry the invocation's context too.
    /// </summary>
    /// <param name="builder">The SignalR builder.</param>
    /// <returns>The SignalR builder.</returns>
    public static ISignalRServerBuilder AddRequestContext(this ISignalRServerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddRequestContext();
        if (services.Any(static descriptor => descriptor.ServiceType == typeof(RequestContextHubFilter)))
        {
            return builder;
        }

        services.TryAddSingleton<RequestContextHubFilter>();

        // First of the HubOptions set-ups, so that this filter is the outermost one (filters run in the order added).
        services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<HubOptions>>(
            new ConfigureNamedOptions<HubOptions>(Options.Options.DefaultName, static options => options.AddFilter<RequestContextHubFilter>())));

        // SignalR reads each invocation's trace headers through the DistributedContextPropagator service: the decorator
        // applies the trust policy and keeps the headers for the filter.
        var inner = services.LastOrDefault(static descriptor => descriptor.ServiceType == typeof(DistributedContextPropagator) && !descriptor.IsKeyedService);
        services.Replace(ServiceDescriptor.Singleton<DistributedContextPropagator>(provider => new HubInvocationPropagator(
            Resolve(inner, provider),
            provider.GetRequiredService<W3CTraceContextPropagator>(),
            provider.GetRequiredService<IRequestContextPropagator>())));
        return builder;
    }

    private static DistributedContextPropagator Resolve(ServiceDescriptor? descriptor, IServiceProvider provider) => descriptor switch
    {
        null => DistributedContextPropagator.Current,
        { ImplementationInstance: DistributedContextPropagator instance } => instance,
        { ImplementationFactory: { } factory } => (DistributedContextPropagator)factory(provider),
        { ImplementationType: { } type } => (DistributedContextPropagator)ActivatorUtilities.CreateInstance(provider, type),
        _ => DistributedContextPropagator.Current,
    };
}
