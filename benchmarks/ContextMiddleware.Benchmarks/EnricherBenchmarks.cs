using System.Security.Claims;
using BenchmarkDotNet.Attributes;
using ContextMiddleware.AspNetCore;
using Serilog;
using Serilog.Context;
using Serilog.Core;
using Serilog.Events;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// Writing one Serilog event inside a request whose context holds a request id, a trace and an authenticated user:
/// no enricher (the baseline); Serilog's <c>LogContext.PushProperty</c> of the same four properties, pushed once per
/// request, with <c>Enrich.FromLogContext()</c>; a naive enricher that makes new properties for every event; and
/// <c>Enrich.WithRequestContext()</c> with the same four properties; and, as the floor, four properties made once.
/// The sink discards events.
/// </summary>
[MemoryDiagnoser]
public class EnricherBenchmarks
{
    private Logger _none = null!;
    private Logger _logContext = null!;
    private Logger _naive = null!;
    private Logger _requestContext = null!;
    private Logger _floor = null!;

    [GlobalSetup]
    public void SetUp()
    {
        var sink = new NullSink();
        _none = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        _logContext = new LoggerConfiguration().Enrich.FromLogContext().WriteTo.Sink(sink).CreateLogger();
        _naive = new LoggerConfiguration().Enrich.With(new NaiveEnricher()).WriteTo.Sink(sink).CreateLogger();
        _floor = new LoggerConfiguration().Enrich.With(new PrebuiltEnricher()).WriteTo.Sink(sink).CreateLogger();
        _requestContext = new LoggerConfiguration()
            .Enrich.WithRequestContext(options => options.UserNamePropertyName = null)
            .WriteTo.Sink(sink)
            .CreateLogger();

        // The request's context, set once as the middleware does; it stays in this thread's ExecutionContext.
        var trace = new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null);
        var user = new BenchmarkUser();
        ContextVar.SetMany(
            RequestContext.RequestId, "0af7651916cd43dd8448eb211c80319c",
            RequestContext.Trace, trace,
            RequestContext.User, (ICurrentUser)user);

        // What a LogContext-based app pushes once per request.
        LogContext.PushProperty("RequestId", "0af7651916cd43dd8448eb211c80319c");
        LogContext.PushProperty("TraceId", trace.TraceId);
        LogContext.PushProperty("SpanId", trace.SpanId);
        LogContext.PushProperty("UserId", user.Id);
    }

    [Benchmark(Baseline = true)]
    public void NoEnricher() => _none.Information("Order {OrderId} shipped", 42);

    [Benchmark]
    public void LogContextPushProperty() => _logContext.Information("Order {OrderId} shipped", 42);

    [Benchmark]
    public void NaiveEnricherPerEvent() => _naive.Information("Order {OrderId} shipped", 42);

    [Benchmark]
    public void PrebuiltPropertiesFloor() => _floor.Information("Order {OrderId} shipped", 42);

    [Benchmark]
    public void WithRequestContext() => _requestContext.Information("Order {OrderId} shipped", 42);


    /// <summary>
    /// The floor: four properties made once and added to every event. What an event still allocates here is the
    /// event's own property dictionary growing, which no enricher can avoid.
    /// </summary>
    private sealed class PrebuiltEnricher : ILogEventEnricher
    {
        private readonly LogEventProperty[] _properties =
        [
            new("RequestId", new ScalarValue("0af7651916cd43dd8448eb211c80319c")),
            new("TraceId", new ScalarValue("4bf92f3577b34da6a3ce929d0e0e4736")),
            new("SpanId", new ScalarValue("00f067aa0ba902b7")),
            new("UserId", new ScalarValue("user-42")),
        ];

        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            foreach (var property in _properties)
            {
                logEvent.AddPropertyIfAbsent(property);
            }
        }
    }

    /// <summary>Reads the same values as WithRequestContext and makes new properties every time.</summary>
    private sealed class NaiveEnricher : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            var trace = RequestContext.Trace.Get();
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("RequestId", RequestContext.RequestId.Get()));
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("TraceId", trace?.TraceId));
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("SpanId", trace?.SpanId));
            logEvent.AddPropertyIfAbsent(propertyFactory.CreateProperty("UserId", RequestContext.User.Get().Id));
        }
    }

    private sealed class BenchmarkUser : ICurrentUser
    {
        public ClaimsPrincipal Principal { get; } =
            new(new ClaimsIdentity([new Claim("sub", "user-42"), new Claim("name", "Ada")], "Bearer"));

        public bool IsAuthenticated => true;

        public string? Id => "user-42";

        public string? Name => "Ada";

        public bool IsInRole(string role) => Principal.IsInRole(role);

        public string? FindFirstValue(string claimType) => Principal.FindFirst(claimType)?.Value;
    }
}
