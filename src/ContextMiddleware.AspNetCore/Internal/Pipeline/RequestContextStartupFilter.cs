using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// Puts <see cref="RequestContextMiddleware"/> in front of every other middleware, the framework's own (the developer
/// exception page) included, when <c>UseRequestContext()</c> was called; otherwise the pipeline is left as it is.
/// </summary>
internal sealed class RequestContextStartupFilter(HttpRequestContexts contexts) : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        contexts.OutermostInstalled = true;

        // Decided when the pipeline is built, after the app's own configuration has called UseRequestContext() or not.
        app.Use(rest => contexts.Enabled ? ActivatorUtilities.CreateInstance<RequestContextMiddleware>(app.ApplicationServices, rest).InvokeAsync : rest);
        next(app);
    };
}
