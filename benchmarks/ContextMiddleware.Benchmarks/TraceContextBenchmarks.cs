using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.Tracing;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// Parsing and validating a traceparent and a 32-member tracestate: ContextMiddleware's propagator against the
/// runtime's <see cref="DistributedContextPropagator.CreateDefaultPropagator"/>, through the same getter over the same
/// headers; and the traceparent alone against <see cref="ActivityContext.TryParse(string, string, out ActivityContext)"/>.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class TraceContextBenchmarks
{
    private const string TraceParentValue = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    private static readonly DistributedContextPropagator.PropagatorGetterCallback s_getter =
        static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            ((Dictionary<string, string>)carrier!).TryGetValue(name, out value);
        };

    private readonly DistributedContextPropagator _runtime = DistributedContextPropagator.CreateDefaultPropagator();
    private readonly W3CTraceContextPropagator _ours = new(new RequestContextSettings(new RequestContextOptions()));

    private readonly Dictionary<string, string> _headers = new()
    {
        ["traceparent"] = TraceParentValue,
        ["tracestate"] = string.Join(',', Enumerable.Range(0, 32).Select(i => $"vendor{i}=value{i:x4}")),
    };

    private static readonly DistributedContextPropagator.PropagatorGetterCallback s_headerGetter =
        static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            value = ((Microsoft.AspNetCore.Http.IHeaderDictionary)carrier!)[name];
        };

    private readonly Microsoft.AspNetCore.Http.HeaderDictionary _requestHeaders = new()
    {
        ["traceparent"] = TraceParentValue,
        ["tracestate"] = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        ["X-Request-ID"] = "0af7651916cd43dd8448eb211c80319c",
    };

    [GlobalSetup]
    public void Verify()
    {
        _ours.ExtractTraceIdAndState(_headers, s_getter, out var parent, out var state);
        if (parent != TraceParentValue || state != _headers["tracestate"])
        {
            throw new InvalidOperationException("ContextMiddleware's propagator did not accept the benchmark's headers.");
        }
    }

    [BenchmarkCategory("traceparent + 32-member tracestate"), Benchmark(Baseline = true)]
    public string? Runtime_ExtractTraceIdAndState()
    {
        _runtime.ExtractTraceIdAndState(_headers, s_getter, out var parent, out var state);
        return parent ?? state;
    }

    [BenchmarkCategory("traceparent + 32-member tracestate"), Benchmark]
    public string? Ours_ExtractTraceIdAndState()
    {
        _ours.ExtractTraceIdAndState(_headers, s_getter, out var parent, out var state);
        return parent ?? state;
    }

    [BenchmarkCategory("request headers, as hosting extracts"), Benchmark(Baseline = true)]
    public string? Runtime_RequestHeaders()
    {
        _runtime.ExtractTraceIdAndState(_requestHeaders, s_headerGetter, out var parent, out var state);
        return parent ?? state;
    }

    [BenchmarkCategory("request headers, as hosting extracts"), Benchmark]
    public string? Ours_RequestHeaders()
    {
        _ours.ExtractTraceIdAndState(_requestHeaders, s_headerGetter, out var parent, out var state);
        return parent ?? state;
    }

    [BenchmarkCategory("traceparent to ids"), Benchmark(Baseline = true)]
    public ActivityTraceId Runtime_ActivityContextTryParse() =>
        ActivityContext.TryParse(TraceParentValue, null, out var context) ? context.TraceId : default;

    [BenchmarkCategory("traceparent to ids"), Benchmark]
    public ulong Ours_TraceParentTryParse() =>
        TraceParent.TryParse(TraceParentValue, out var parent) ? parent.TraceIdLow ^ parent.ParentId : 0;
}
