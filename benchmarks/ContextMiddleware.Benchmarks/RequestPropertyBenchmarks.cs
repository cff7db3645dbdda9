using BenchmarkDotNet.Attributes;
using ContextMiddleware.AspNetCore;
using Serilog;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// Four request-scoped properties on one Serilog event: Serilog's <c>LogContext.PushProperty</c> of the four, pushed
/// once per request, with <c>Enrich.FromLogContext()</c> (the baseline), against <c>RequestContext.Properties.Set</c> of
/// the same four, once per request, with <c>Enrich.WithRequestContext()</c> (its id properties off, so that both add
/// the same four). And the cost of setting a new property. The sink discards events.
/// </summary>
[MemoryDiagnoser]
public class RequestPropertyBenchmarks
{
    private static readonly string[] Names = [.. Enumerable.Range(0, 16).Select(i => $"p{i}")];
    private static readonly TraceContext Trace = new("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null);
    private Logger _logContext = null!;
    private Logger _requestProperties = null!;
    private Logger _floor = null!;

    [GlobalSetup]
    public void SetUp()
    {
        var sink = new NullSink();
        _logContext = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Sink(sink).CreateLogger();
        _floor = new LoggerConfiguration().Enrich.With(new PrebuiltEnricher()).WriteTo.Sink(sink).CreateLogger();
        _requestProperties = new LoggerConfiguration()
            .Enrich.WithRequestContext(options =>
            {
                options.RequestIdPropertyName = null;
                options.TraceIdPropertyName = null;
                options.SpanIdPropertyName = null;
                options.UserIdPropertyName = null;
                options.UserNamePropertyName = null;
            })
            .WriteTo.Sink(sink)
            .CreateLogger();

        // One request, set up once as an app would: its context, its four properties, the same four pushed on LogContext.
        ContextVar.SetMany(RequestContext.RequestId, "0af7651916cd43dd8448eb211c80319c", RequestContext.Trace, Trace);
        RequestContext.Properties.Set("tenant", "acme");
        RequestContext.Properties.Set("region", "eu-west");
        RequestContext.Properties.Set("cart", 1234);
        RequestContext.Properties.Set("plan", "gold");
        LogContext.PushProperty("tenant", "acme");
        LogContext.PushProperty("region", "eu-west");
        LogContext.PushProperty("cart", 1234);
        LogContext.PushProperty("plan", "gold");
    }

    [Benchmark(Baseline = true)]
    public void LogContextPushProperty() => _logContext.Information("Order {OrderId} shipped", 42);

    /// <summary>The floor: the same four properties made once and added to every event (the event's own dictionary).</summary>
    [Benchmark]
    public void PrebuiltPropertiesFloor() => _floor.Information("Order {OrderId} shipped", 42);

    [Benchmark]
    public void RequestContextProperties() => _requestProperties.Information("Order {OrderId} shipped", 42);

    /// <summary>Sets sixteen new properties on a fresh request (whose property set is made by the first).</summary>
    [Benchmark(OperationsPerInvoke = 16)]
    public void SetNewProperty()
    {
        var outer = RequestContext.Trace.Get();
        RequestContext.Trace.Set(new TraceContext(Trace.TraceId, Trace.SpanId, null, true, null));
        foreach (var name in Names)
        {
            RequestContext.Properties.Set(name, "value");
        }

        RequestContext.Trace.Set(outer);
    }

    private sealed class PrebuiltEnricher : ILogEventEnricher
    {
        private readonly LogEventProperty[] _properties =
        [
            new("tenant", new ScalarValue("acme")), new("region", new ScalarValue("eu-west")),
            new("cart", new ScalarValue(1234)), new("plan", new ScalarValue("gold")),
        ];

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            foreach (var property in _properties)
            {
                logEvent.AddOrUpdateProperty(property);
            }
        }
    }

}
