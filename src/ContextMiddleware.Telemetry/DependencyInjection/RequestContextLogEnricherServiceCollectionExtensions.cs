using ContextMiddleware.AspNetCore;
using ContextMiddleware.Telemetry;
using ContextMiddleware.Telemetry.Internal;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.Enrichment;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the request context's log enricher for Microsoft.Extensions.Telemetry.</summary>
public static class RequestContextLogEnricherServiceCollectionExtensions
{
    /// <summary>
    /// Adds an <see cref="ILogEnricher"/> that writes RequestId, TraceId, SpanId, UserId and UserName, the request's
    /// properties and the chosen ContextVars on every record, for apps that call <c>builder.Logging.EnableEnrichment()</c>.
    /// The user id and name carry a <c>DataClassification</c>
    /// (<see cref="RequestContextLogEnricherOptions.UserIdClassification"/>): when redaction is on, they are written as
    /// their classification's redactor makes them. It replaces the Microsoft.Extensions.Logging request scope: the default
    /// of <c>RequestContextOptions.LoggingScope</c> becomes off (the scope would repeat the values, unredacted);
    /// configuration or the app's own options can still turn it on. Also adds the request context's core services.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Configures the enricher.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextLogEnricher(this IServiceCollection services, Action<RequestContextLogEnricherOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRequestContextCore();
        if (!services.Any(static descriptor => descriptor.ServiceType == typeof(RequestContextLogEnricher)))
        {
            services.TryAddSingleton<EnricherUse>();
            services.TryAddSingleton<RequestContextLogEnricher>();
            services.AddHostedService<EnrichmentCheck>();
            services.AddSingleton<ILogEnricher>(static provider => provider.GetRequiredService<RequestContextLogEnricher>());

            // The records carry the values as tags now: the request scope would repeat them, unredacted. First of the
            // set-ups, so that configuration or the app can turn it back on.
            services.Insert(0, ServiceDescriptor.Singleton<IConfigureOptions<RequestContextOptions>>(
                new ConfigureNamedOptions<RequestContextOptions>(Options.Options.DefaultName, static options => options.LoggingScope = false)));
        }

        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }
}
