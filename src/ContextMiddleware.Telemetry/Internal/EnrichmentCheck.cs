using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Telemetry.Internal;

/// <summary>Whether a logger factory took the enricher (Microsoft.Extensions.Telemetry's does, with <c>EnableEnrichment()</c>).</summary>
internal sealed class EnricherUse
{
    public volatile bool Taken;
}

/// <summary>
/// Warns at startup when nothing took the enricher: without <c>EnableEnrichment()</c> the records carry no request ids
/// at all, because <c>AddRequestContextLogEnricher()</c> turned the request scope off.
/// </summary>
internal sealed partial class EnrichmentCheck(EnricherUse use, ILoggerFactory loggerFactory, ILogger<EnrichmentCheck> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = loggerFactory; // the factory is resolved first: it is what takes the enricher
        if (!use.Taken)
        {
            EnrichmentNotEnabled(logger);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(40, LogLevel.Warning,
        "AddRequestContextLogEnricher() was called, but no logger uses enrichment: call builder.Logging.EnableEnrichment(). Until then log records carry no request ids (the request scope is off, replaced by the enricher).",
        EventName = "EnrichmentNotEnabled")]
    private static partial void EnrichmentNotEnabled(ILogger logger);
}
