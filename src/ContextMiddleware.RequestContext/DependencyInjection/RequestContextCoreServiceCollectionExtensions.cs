using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.BackgroundWork;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Propagation;
using ContextMiddleware.AspNetCore.Internal.RequestIds;
using ContextMiddleware.AspNetCore.Internal.Trust;
using ContextMiddleware.AspNetCore.Internal.User;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the request context without ASP.NET Core: for workers, message consumers and job servers.</summary>
public static class RequestContextCoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds the request context without ASP.NET Core (ASP.NET Core apps call <c>AddRequestContext()</c>, which includes
    /// it): options bound from the <c>"RequestContext"</c> configuration section and then <paramref name="configure"/>,
    /// validated at startup; <see cref="IRequestContextPropagator"/>, <see cref="IRequestContextTrustPolicy"/>,
    /// <see cref="ICurrentUser"/>, <see cref="IRequestContext"/>, <see cref="W3CTraceContextPropagator"/>, and the
    /// Microsoft.Extensions.Logging request scope (the logger factory's <c>IExternalScopeProvider</c>). Calling it
    /// again only adds <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the options after configuration binding.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextCore(this IServiceCollection services, Action<RequestContextOptions>? configure = null)
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
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestContextOptions>, RequestContextOptionsRangeValidator>());
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestContextOptions>, RequestContextOptionsValidator>());
            services.TryAddSingleton(static provider => new RequestContextSettings(
                provider.GetRequiredService<IOptions<RequestContextOptions>>(),
                provider.GetServices<IConfigureOptions<RequestContextOptions>>(),
                provider.GetServices<IPostConfigureOptions<RequestContextOptions>>(),
                provider.GetServices<IValidateOptions<RequestContextOptions>>(),
                provider.GetRequiredService<ILogger<RequestContextSettings>>(),
                provider.GetService<IConfiguration>()));
            services.TryAddSingleton<IRequestContextTrustPolicy, TrustPolicy>();
            services.TryAddSingleton<RequestIdResolver>();
            services.TryAddSingleton<IRequestContextPropagator, RequestContextPropagator>();
            services.TryAddSingleton(static provider => new W3CTraceContextPropagator(provider.GetRequiredService<RequestContextSettings>()));
            services.TryAddSingleton<AmbientCurrentUser>();
            services.TryAddSingleton<ICurrentUser>(static provider => provider.GetRequiredService<AmbientCurrentUser>());
            services.TryAddSingleton<IRequestContext, AmbientRequestContext>();

            // The logger factory takes its scope provider from here when one is registered: ours adds the request
            // scope to the framework's scopes without a push per request.
            services.TryAddSingleton<IExternalScopeProvider, RequestScopeProvider>();
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }

    /// <summary>
    /// Adds <see cref="IBackgroundWorkQueue"/>: a bounded queue whose items a hosted service runs, each in the context
    /// (request id, trace, user) it was queued from, with options bound from the
    /// <c>"RequestContext:BackgroundWorkQueue"</c> configuration section (see <see cref="BackgroundWorkQueueOptions"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextBackgroundQueue(this IServiceCollection services) =>
        services.AddRequestContextBackgroundQueue(static _ => { });

    /// <summary>
    /// Adds <see cref="IBackgroundWorkQueue"/> with options bound from the <c>"RequestContext:BackgroundWorkQueue"</c>
    /// configuration section, and then <paramref name="capacity"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="capacity">How many items may wait; queueing waits while the queue is full.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextBackgroundQueue(this IServiceCollection services, int capacity)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        return services.AddRequestContextBackgroundQueue(options => options.Capacity = capacity);
    }

    /// <summary>
    /// Adds <see cref="IBackgroundWorkQueue"/> with options bound from the <c>"RequestContext:BackgroundWorkQueue"</c>
    /// configuration section and then <paramref name="configure"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the queue.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextBackgroundQueue(this IServiceCollection services, Action<BackgroundWorkQueueOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddRequestContextCore();
        if (!services.Any(descriptor => descriptor.ServiceType == typeof(BackgroundWorkQueue)))
        {
            services.AddOptions<BackgroundWorkQueueOptions>()
                .Configure<IServiceProvider>(static (options, provider) =>
                {
                    if (provider.GetService<IConfiguration>()?.GetSection($"{RequestContextOptions.SectionName}:BackgroundWorkQueue") is { } section && section.Exists())
                    {
                        section.Bind(options);
                    }
                })
                .ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BackgroundWorkQueueOptions>, BackgroundWorkQueueOptionsValidator>());
            services.AddSingleton<BackgroundWorkQueue>();
            services.AddSingleton<IBackgroundWorkQueue>(static provider => provider.GetRequiredService<BackgroundWorkQueue>());
            services.AddSingleton<IHostedService>(static provider => provider.GetRequiredService<BackgroundWorkQueue>());
        }

        services.Configure(configure);
        return services;
    }
}
