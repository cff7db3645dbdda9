using CorrelationId;
using CorrelationId.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// A Kestrel server for the load test (<c>load.sh</c>): <c>serve VARIANT URL</c> where VARIANT is bare, bare2,
/// correlationid, asynclocal or requestcontext. Logging is on at Warning, as in production, so that ASP.NET Core's
/// hosting starts its request Activity in every variant.
/// </summary>
public static class LoadServer
{
    private static readonly AsyncLocal<string?> s_handWritten = new();

    public static async Task<int> RunAsync(string variant, string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders().AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(url);
        switch (variant)
        {
            case "correlationid":
                builder.Services.AddDefaultCorrelationId();
                break;
            case "requestcontext":
                builder.Services.AddRequestContext();
                break;
        }

        var app = builder.Build();
        switch (variant)
        {
            case "bare" or "bare2":
                break;
            case "correlationid":
                app.UseCorrelationId();
                break;
            case "requestcontext":
                app.UseRequestContext();
                break;
            case "asynclocal":
                // The minimal hand-written middleware people write: read or make an id, keep it in an AsyncLocal,
                // echo it.
                app.Use(async (context, next) =>
                {
                    var id = context.Request.Headers["X-Request-ID"].ToString();
                    s_handWritten.Value = id.Length > 0 ? id : Guid.NewGuid().ToString("N");
                    context.Response.OnStarting(() =>
                    {
                        context.Response.Headers["X-Request-ID"] = s_handWritten.Value;
                        return Task.CompletedTask;
                    });
                    await next(context);
                });
                break;
            default:
                await Console.Error.WriteLineAsync($"Unknown variant '{variant}'.");
                return 2;
        }

        app.MapGet("/", () => "ok");
        await app.RunAsync();
        return 0;
    }
}
