using ContextMiddleware.AspNetCore.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds ContextMiddleware's request context middleware to the pipeline.</summary>
public static class RequestContextApplicationBuilderExtensions
{
    /// <summary>
    /// Gives every request a validated request id (echoed on the response, also on errors), an Activity whose ids
    /// are <c>RequestContext.Trace</c>, and the current user, readable anywhere in the call chain through
    /// <c>RequestContext</c>, <c>IRequestContext</c> and <c>ICurrentUser</c>.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <remarks>
    /// Place it early: every middleware after it, and the exception handler if it comes after it, sees the context.
    /// Authentication may come before or after it: the user is read when asked for.
    /// </remarks>
    /// <exception cref="InvalidOperationException"><c>AddRequestContext()</c> was not called.</exception>
    public static IApplicationBuilder UseRequestContext(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<RequestContextSettings>() is null)
        {
            throw new InvalidOperationException(
                "Unable to find the request context services. Call 'builder.Services.AddRequestContext()' " +
                "before 'app.UseRequestContext()'.");
        }

        return app.UseMiddleware<RequestContextMiddleware>();
    }
}
