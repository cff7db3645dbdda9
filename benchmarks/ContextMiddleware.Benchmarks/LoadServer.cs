using CorrelationId;
using CorrelationId.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// A Kestrel server for the load test (<c>load.sh</c>): <c>serve VARIANT URL</c> where VARIANT is bare, bare2,
/// correlationid, asynclocal or requestcontext (the console logger on at Warning, as in production, so that ASP.NET
/// Core's hosting starts its request Activity in every variant), or serilog and serilog-requestcontext (Serilog request
/// logging writing one line per request, rendered with a text template and thrown away; the second with
/// <c>UseRequestContext()</c> and <c>Enrich.WithRequestContext()</c>).
/// </summary>
public static class LoadServer
{
    private static readonly AsyncLocal<string?> s_handWritten = new();

    public static async Task<int> RunAsync(string variant, string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (variant.StartsWith("serilog", StringComparison.Ordinal))
        {
            var withContext = variant == "serilog-requestcontext";
            builder.Services.AddSerilog(logger =>
            {
                logger.MinimumLevel.Information().MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning);
                if (withContext)
                {
                    logger.Enrich.WithRequestContext();
                }

                logger.WriteTo.Sink(new DiscardingTextSink("{Timestamp:HH:mm:ss} {Level:u3} {RequestId} {TraceId} {Message:lj}{NewLine}"));
            });
        }
        else
        {
            builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        }

        builder.WebHost.UseUrls(url);
        switch (variant)
        {
            case "correlationid":
                builder.Services.AddDefaultCorrelationId();
                break;
            case "requestcontext" or "serilog-requestcontext":
                builder.Services.AddRequestContext();
                break;
        }

        var app = builder.Build();
        switch (variant)
        {
            case "bare" or "bare2":
                break;
            case "serilog":
                app.UseSerilogRequestLogging();
                break;
            case "serilog-requestcontext":
                app.UseSerilogRequestLogging();
                app.UseRequestContext();
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

    /// <summary>Renders each event with a text template, as a console or file sink does, and throws the text away.</summary>
    private sealed class DiscardingTextSink(string outputTemplate) : ILogEventSink
    {
        private readonly MessageTemplateTextFormatter _formatter = new(outputTemplate);

        public void Emit(LogEvent logEvent) => _formatter.Format(logEvent, TextWriter.Null);
    }
}
