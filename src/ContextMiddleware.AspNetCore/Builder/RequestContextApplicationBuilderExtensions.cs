using ContextMiddleware.AspNetCore.Internal.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Turns on ContextMiddleware's request context.</summary>
public static class RequestContextApplicationBuilderExtensions
{
    /// <summary>
    /// Gives every request a validated request id (echoed on the response, also on errors), a trace context that agrees
    /// with the request's Activity, and the current user, readable anywhere in the call chain through
    /// <c>RequestContext</c>, <c>IRequestContext</c> and <c>ICurrentUser</c>.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <remarks>
    /// <para>
    /// Where it is called does not matter: the request's context begins when the server starts the request, before the
    /// first middleware, so every middleware (<c>UseExceptionHandler</c>, <c>UseSerilogRequestLogging</c>,
    /// <c>UseHttpLogging</c>, wherever they are) and hosting's and the server's own log records carry the request's
    /// ids. The request's context is decided on the connection's own address, before <c>UseForwardedHeaders()</c>
    /// changes <c>RemoteIpAddress</c>: list your proxies in <c>TrustedNetworks</c>.
    /// </para>
    /// <para>
    /// An exception that no other middleware handled is logged once, with the request's ids, and answered with an empty
    /// 500 that carries the request id (unless <c>LogUnhandledExceptions</c> is off). Authentication may run anywhere:
    /// the user is read when asked for.
    /// </para>
    /// </remarks>
    /// <exception cref="InvalidOperationException"><c>AddRequestContext()</c> was not called.</exception>
    public static IApplicationBuilder UseRequestContext(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<HttpRequestContexts>() is not { } contexts)
        {
            throw new InvalidOperationException(
                "Unable to find the request context services. Call 'builder.Services.AddRequestContext()' " +
                "before 'app.UseRequestContext()'.");
        }

        contexts.Enable();

        // A host that runs startup filters (WebApplication, the generic web host) puts the middleware in front of
        // everything; a pipeline built by hand gets it here.
        return app.Use(next => contexts.OutermostInstalled
            ? next
            : ActivatorUtilities.CreateInstance<RequestContextMiddleware>(app.ApplicationServices, next).InvokeAsync);
    }
}
