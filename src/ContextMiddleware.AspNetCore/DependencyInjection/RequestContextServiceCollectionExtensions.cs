using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Pipeline;
using ContextMiddleware.AspNetCore.Internal.Tracing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ContextMiddleware's request context services for ASP.NET Core.</summary>
public static class RequestContextServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services of <c>UseRequestContext()</c>: everything <c>AddRequestContextCore()</c> adds (options bound
    /// from the <c>"RequestContext"</c> configuration section and then <paramref name="configure"/>, validated at
    /// startup; <see cref="ICurrentUser"/>, <see cref="IRequestContext"/>, <see cref="IRequestContextPropagator"/>, the
    /// logging request scope), the <c>requestId</c> of ProblemDetails, and the W3C Trace Context propagator through
    /// which ASP.NET Core's hosting reads each request's trace headers. Requests are left as they are until
    /// <c>UseRequestContext()</c> is called (the propagator hands them to the runtime's own,
    /// <see cref="DistributedContextPropagator.Current"/>): only then does it apply the trust policy and normalise the
    /// trace headers, and the request's context begin. Calling it again only adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContext(this IServiceCollection services, Action<RequestContextOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRequestContextCore(configure);

        if (!services.Any(descriptor => descriptor.ServiceType == typeof(HttpRequestContexts)))
        {
            services.TryAddSingleton<HttpSettings>();
            services.TryAddSingleton<HttpRequestContexts>();

            // First of the startup filters, so that the outermost middleware runs in front of those registered before
            // (host filtering; forwarded headers under ASPNETCORE_FORWARDEDHEADERS_ENABLED, which would change the
            // address that trust is decided on).
            services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter, RequestContextStartupFilter>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestContextOptions>, HostingOptionsValidator>());

            // Hosting extracts each request's trace context through the DistributedContextPropagator service.
            services.TryAddSingleton(static provider => new HostingTraceContextPropagator(
                provider.GetRequiredService<W3CTraceContextPropagator>(),
                provider.GetRequiredService<IRequestContextTrustPolicy>(),
                provider.GetRequiredService<HttpRequestContexts>(),
                provider.GetRequiredService<ILogger<HostingTraceContextPropagator>>(),
                provider.GetService<IHttpContextAccessor>()));
            services.Replace(ServiceDescriptor.Singleton<DistributedContextPropagator>(
                static provider => provider.GetRequiredService<HostingTraceContextPropagator>()));

            services.AddOptions<ProblemDetailsOptions>()
                .PostConfigure<HttpSettings>(static (options, settings) =>
                {
                    if (!settings.AddRequestIdToProblemDetails)
                    {
                        return;
                    }

                    var previous = options.CustomizeProblemDetails;
                    options.CustomizeProblemDetails = context =>
                    {
                        previous?.Invoke(context);
                        if (RequestContext.RequestId.Get() is { } requestId)
                        {
                            context.ProblemDetails.Extensions.TryAdd("requestId", requestId);
                        }

                        // Without an Activity the framework's traceId is the TraceIdentifier (the request id): give
                        // the request's trace instead, as it would be with one.
                        if (Activity.Current is null && RequestContext.Trace.Get() is { } trace)
                        {
                            context.ProblemDetails.Extensions["traceId"] = trace.ToString();
                        }
                    };
                });
        }

        // Under TrustedNetworks the propagator finds the caller's address through IHttpContextAccessor, because hosting
        // extracts trace headers before any middleware runs. The accessor costs every request an ExecutionContext
        // write, so it is added only when the configuration known now asks for it; the validator names the fix when
        // configuration added later does.
        if (TrustsNetworksBeforeMiddleware(services, configure))
        {
            services.AddHttpContextAccessor();
        }

        return services;
    }

    /// <summary>
    /// The app's configuration, as registered so far: an instance, or the host builders' factory that returns their
    /// configuration without using the provider (asked with an empty one; anything else is not guessed at).
    /// </summary>
    private static IConfiguration? ConfigurationOf(IServiceCollection services)
    {
        var descriptor = services.LastOrDefault(descriptor => descriptor.ServiceType == typeof(IConfiguration) && !descriptor.IsKeyedService);
        if (descriptor?.ImplementationInstance is IConfiguration instance)
        {
            return instance;
        }

        if (descriptor?.ImplementationFactory is { } factory)
        {
            try
            {
                using var empty = new ServiceCollection().BuildServiceProvider();
                return factory(empty) as IConfiguration;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether the configuration registered so far and <paramref name="configure"/> trust trace headers or baggage by
    /// network: both are read before any middleware runs.
    /// </summary>
    private static bool TrustsNetworksBeforeMiddleware(IServiceCollection services, Action<RequestContextOptions>? configure)
    {
        var probe = new RequestContextOptions();
        if (ConfigurationOf(services) is { } configuration)
        {
            configuration.GetSection(RequestContextOptions.SectionName).Bind(probe);
        }

        configure?.Invoke(probe);
        var traceTrust = probe.IncomingTraceContext ?? probe.IncomingRequestIds;
        return traceTrust == RequestContextTrust.TrustedNetworks || (probe.Baggage.Incoming ?? traceTrust) == RequestContextTrust.TrustedNetworks;
    }
}
