using Serilog;
using Serilog.Formatting.Compact;

namespace ContextMiddleware.Distributed;

/// <summary>The logging of every role: Serilog, with the request context's ids on every event, to standard output.</summary>
internal static class DistributedLogging
{
    /// <summary>The console line when run by hand: time, process, level, RequestId, TraceId, message.</summary>
    public const string TextTemplate =
        "{Timestamp:HH:mm:ss.fff} [{Process}] {Level:u3} {RequestId} {TraceId} {Message:lj}{NewLine}{Exception}";

    public static void Add(IServiceCollection services, string process, DistributedSettings settings) =>
        services.AddSerilog(
            (provider, logger) =>
            {
                logger.ReadFrom.Configuration(provider.GetRequiredService<IConfiguration>())   // levels: "Serilog" section
                    .Enrich.WithRequestContext(options => options.OutsideRequestValue = "-")  // RequestId, TraceId, SpanId
                    .Enrich.WithProperty("Process", process);
                if (settings.LogFormat == LogFormat.Json)
                {
                    logger.WriteTo.Console(new CompactJsonFormatter());
                }
                else
                {
                    logger.WriteTo.Console(outputTemplate: TextTemplate);
                }
            },
            preserveStaticLogger: true);
}
