using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// Added outermost by a startup filter. When an exception escapes the whole pipeline before the response started,
/// the server would answer 500 after clearing every header, our X-Request-ID included, and log the exception
/// outside the request's context. The boundary answers the same empty 500 itself, with the request id, and records
/// the exception on the request Activity; the middleware has already logged it with the request's context.
/// With <see cref="RequestContextOptions.LogUnhandledExceptions"/> off it stays out of the way.
/// </summary>
internal sealed class ErrorBoundary(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (Exception exception) when (!context.Response.HasStarted &&
            context.Features.Get<IHttpRequestIdentifierFeature>() is RequestState { Settings.LogUnhandledExceptions: true })
        {
            // Clear keeps the OnStarting callbacks: the middleware's writes the request id (and traceresponse) when
            // this 500 starts.
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;

            if (context.Features.Get<IHttpActivityFeature>()?.Activity is { } activity)
            {
                activity.AddException(exception);
                activity.SetStatus(ActivityStatusCode.Error, exception.Message);
            }
        }
    }

    /// <summary>Puts the boundary in front of everything else, the framework's own middleware included.</summary>
    internal sealed class StartupFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.UseMiddleware<ErrorBoundary>();
            next(app);
        };
    }
}
