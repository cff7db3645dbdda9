using ContextMiddleware.AspNetCore;
using ContextMiddleware.Hangfire.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hangfire;

/// <summary>Adds ContextMiddleware's request context to Hangfire's configuration.</summary>
public static class RequestContextHangfireExtensions
{
    /// <summary>
    /// Makes every job carry the context of the flow that created it: a job created during a request runs with that
    /// request's id, its trace (the job's Activity, <c>perform {Type}.{Method}</c>, a child of the span that created
    /// the job), its registered baggage variables, and its user id when the app opted in
    /// (<see cref="RequestContextOptions.MessageUserIdHeader"/>); each retry runs in the same context; a job created
    /// outside a request gets fresh ids. The context is stored as the job parameter <c>RequestContext</c> and believed
    /// by the one trust policy, as a message's headers are. Call it on the servers and on the clients that create jobs.
    /// </summary>
    /// <param name="configuration">Hangfire's configuration: <c>services.AddHangfire((provider, c) =&gt; c.UseRequestContext(provider))</c>.</param>
    /// <param name="services">The app's services, where <c>AddRequestContext()</c> (or <c>AddRequestContextCore()</c>) registered the request context.</param>
    /// <returns>The configuration.</returns>
    /// <remarks>
    /// Hangfire's filters are global to the process: calling this again replaces the filter the earlier call added.
    /// The filter runs before the app's own filters (order <see cref="FilterOrder"/>), so they see the job's context.
    /// </remarks>
    public static IGlobalConfiguration UseRequestContext(this IGlobalConfiguration configuration, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(services);
        var propagator = services.GetService<IRequestContextPropagator>() ?? throw new InvalidOperationException(
            "UseRequestContext() needs the request context's services: call builder.Services.AddRequestContext() (or AddRequestContextCore() in a worker without ASP.NET Core).");
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("ContextMiddleware.Hangfire") ?? NullLogger.Instance;
        lock (GlobalJobFilters.Filters)
        {
            GlobalJobFilters.Filters.Remove<RequestContextJobFilter>();
            GlobalJobFilters.Filters.Add(new RequestContextJobFilter(propagator, logger), FilterOrder);
        }

        return configuration;
    }

    /// <summary>The order the request context's filter runs in among Hangfire's global filters: before the others.</summary>
    public const int FilterOrder = -10_000;
}
