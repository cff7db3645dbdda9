using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ContextMiddleware's request context services.</summary>
public static class RequestContextServiceCollectionExtensions
{
    /// <summary>
    /// Adds the services of <c>UseRequestContext()</c>: options bound from the <c>"RequestContext"</c> configuration
    /// section and then <paramref name="configure"/>, validated at startup; <see cref="ICurrentUser"/>,
    /// <see cref="IRequestContext"/> and <see cref="IRequestContextPropagator"/>; and a W3C Trace Context compliant
    /// <see cref="System.Diagnostics.DistributedContextPropagator"/> in place of the runtime's, through which ASP.NET
    /// Core's hosting reads each request's trace headers (with the <c>IncomingTraceContext</c> trust policy).
    /// Calling it again only adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContext(this IServiceCollection services, Action<RequestContextOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        if (!services.Any(descriptor => descriptor.ServiceType == typeof(RequestContextSettings)))
        {
            services.AddOptions<RequestContextOptions>()
                .Configure<IServiceProvider>(static (options, provider) =>
                {
                    if (provider.GetService<IConfiguration>()?.GetSection(RequestContextOptions.SectionName) is { } section && section.Exists())
                    {
                        section.Bind(options);
                    }
                })
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestContextOptions>, RequestContextOptionsValidator>());
            services.TryAddSingleton<RequestContextSettings>();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, ErrorBoundary.StartupFilter>());
            services.TryAddSingleton<AmbientCurrentUser>();
            services.TryAddSingleton<ICurrentUser>(static provider => provider.GetRequiredService<AmbientCurrentUser>());
            services.TryAddSingleton<IRequestContext, AmbientRequestContext>();
            services.TryAddSingleton<IRequestContextPropagator, RequestContextPropagator>();

            // The logger factory takes its scope provider from here when one is registered: ours adds the request
            // scope to the framework's scopes without a push per request.
            services.TryAddSingleton<IExternalScopeProvider, RequestScopeProvider>();

            // Hosting extracts each request's trace context through the DistributedContextPropagator service; ours
            // applies the W3C rules and the trust policy.
            services.TryAddSingleton(static provider => new TraceContextPropagator(
                provider.GetRequiredService<RequestContextSettings>(),
                provider.GetRequiredService<ILogger<TraceContextPropagator>>(),
                provider.GetService<Microsoft.AspNetCore.Http.IHttpContextAccessor>()));
            services.Replace(ServiceDescriptor.Singleton<System.Diagnostics.DistributedContextPropagator>(
                static provider => provider.GetRequiredService<TraceContextPropagator>()));
            services.AddOptions<Microsoft.AspNetCore.Http.ProblemDetailsOptions>()
                .PostConfigure<RequestContextSettings>(static (options, settings) =>
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
                    };
                });
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        // Under TrustedNetworks the propagator finds the caller's address through IHttpContextAccessor, because hosting
        // extracts trace headers before any middleware runs. The accessor costs every request an ExecutionContext
        // write, so it is added only when the configuration known now asks for it; the validator names the fix when
        // configuration added later does.
        if (TraceTrustOf(services, configure) == RequestContextTrust.TrustedNetworks)
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

    /// <summary>The trace-header trust the configuration registered so far and <paramref name="configure"/> give.</summary>
    private static RequestContextTrust TraceTrustOf(IServiceCollection services, Action<RequestContextOptions>? configure)
    {
        var probe = new RequestContextOptions();
        if (ConfigurationOf(services) is { } configuration)
        {
            configuration.GetSection(RequestContextOptions.SectionName).Bind(probe);
        }

        configure?.Invoke(probe);
        return probe.IncomingTraceContext ?? probe.IncomingRequestIds;
    }

    /// <summary>
    /// Adds <see cref="IBackgroundWorkQueue"/>: a bounded queue whose items a hosted service runs one at a time,
    /// each in the context (request id, trace, user) it was queued from.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="capacity">How many items may wait; queueing waits while the queue is full.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextBackgroundQueue(this IServiceCollection services, int capacity = 1000)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);

        if (!services.Any(descriptor => descriptor.ServiceType == typeof(BackgroundWorkQueue)))
        {
            services.AddSingleton(provider => new BackgroundWorkQueue(provider.GetRequiredService<ILogger<BackgroundWorkQueue>>(), capacity));
            services.AddSingleton<IBackgroundWorkQueue>(static provider => provider.GetRequiredService<BackgroundWorkQueue>());
            services.AddSingleton<IHostedService>(static provider => provider.GetRequiredService<BackgroundWorkQueue>());
        }

        return services;
    }
}
