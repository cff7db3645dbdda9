using ContextMiddleware.RabbitMQ;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the RabbitMQ integration of ContextMiddleware.</summary>
public static class RequestContextRabbitMQServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="RequestContextPublisher"/> (and the request context without ASP.NET Core, when it is not
    /// registered yet: <c>AddRequestContextCore()</c>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestContextRabbitMQ(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRequestContextCore();
        services.TryAddSingleton<RequestContextPublisher>();
        return services;
    }
}
