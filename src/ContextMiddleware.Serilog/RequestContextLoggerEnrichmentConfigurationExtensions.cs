using ContextMiddleware;
using ContextMiddleware.Serilog;
using ContextMiddleware.Serilog.Internal;
using Serilog.Configuration;

namespace Serilog;

/// <summary>Serilog enrichers that read ContextMiddleware's context variables.</summary>
public static class RequestContextLoggerEnrichmentConfigurationExtensions
{
    /// <summary>
    /// Adds RequestId, TraceId, SpanId, UserId and UserName to every event written during a request (a handler, a
    /// service several awaits deep, a task it started, request logging placed after <c>UseRequestContext()</c>): the
    /// values of <c>RequestContext</c> where the event is written. The request id replaces a property of the same name
    /// (ASP.NET Core hosting's logging scope has one: the TraceIdentifier from before any middleware ran); the others
    /// leave properties already on the event as they are. Usable from configuration as
    /// <c>"Enrich": [ "WithRequestContext" ]</c>.
    /// </summary>
    /// <param name="enrichment">The enrichment configuration.</param>
    /// <param name="configure">Renames or removes properties, or sets the value used outside a request.</param>
    /// <returns>The logger configuration.</returns>
    public static LoggerConfiguration WithRequestContext(
        this LoggerEnrichmentConfiguration enrichment, Action<RequestContextEnricherOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(enrichment);
        var options = new RequestContextEnricherOptions();
        configure?.Invoke(options);
        return enrichment.With(new RequestContextEnricher(options));
    }

    /// <summary>
    /// Adds the value of <paramref name="variable"/> where the event is written (its default where it is not set, as
    /// <c>Get()</c> reads it) as the property <paramref name="propertyName"/>; absent where the variable has neither a
    /// value nor a default, or the value is null. The counterpart of a Python logging filter that reads a contextvar,
    /// for your own variables (a tenant, a job id).
    /// </summary>
    /// <typeparam name="T">The type of the variable's value.</typeparam>
    /// <param name="enrichment">The enrichment configuration.</param>
    /// <param name="variable">The context variable.</param>
    /// <param name="propertyName">The name of the property.</param>
    /// <returns>The logger configuration.</returns>
    public static LoggerConfiguration FromContextVar<T>(
        this LoggerEnrichmentConfiguration enrichment, ContextVar<T> variable, string propertyName)
    {
        ArgumentNullException.ThrowIfNull(enrichment);
        ArgumentNullException.ThrowIfNull(variable);
        ArgumentException.ThrowIfNullOrWhiteSpace(propertyName);
        return enrichment.With(new ContextVarEnricher<T>(variable, propertyName));
    }
}
