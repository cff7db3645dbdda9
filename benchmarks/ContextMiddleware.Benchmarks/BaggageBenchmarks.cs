using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Baggage;
using ContextMiddleware.AspNetCore.Internal.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using OpenTelemetry.Context.Propagation;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// W3C Baggage in and out, against OpenTelemetry's <c>BaggagePropagator</c> on the same header and values. In: a
/// 64-member header (4 of its keys registered as variables) read into the flow: the suite's variables set and the other
/// 60 kept to pass on, against OpenTelemetry's extraction made <c>Baggage.Current</c>, each inside an empty
/// ExecutionContext as a request begins. Out: the same 4 values written as one header into a dictionary: by a call
/// inside a request (which reuses the header its request composed while the values are the same) and by one that
/// composes it.
/// </summary>
[MemoryDiagnoser]
public class BaggageBenchmarks
{
    private static readonly ContextVar<string?> Tenant = new("Tenant", null);
    private static readonly ContextVar<string?> Region = new("Region", null);
    private static readonly ContextVar<int?> Shard = new("Shard", null);
    private static readonly ContextVar<Guid?> Cart = new("Cart", null);
    private static readonly BaggagePropagator s_otel = new();
    private static readonly Func<Dictionary<string, string>, string, IEnumerable<string>?> s_otelGetter =
        static (carrier, name) => carrier.TryGetValue(name, out var value) ? [value] : null;

    private readonly Dictionary<string, string> _carrier = [];
    private readonly Dictionary<string, string> _out = [];
    private StringValues _lines;
    private BaggageSettings _baggage = null!;
    private RequestContextSettings _settings = null!;
    private ExecutionContext _empty = null!;
    private ExecutionContext _withValues = null!;
    private ExecutionContext _withValuesNoRequest = null!;
    private PropagationContext _otelOut;

    /// <summary>The 64-member header (for the probe).</summary>
    internal string Header => _carrier["baggage"];

    /// <summary>The settings (for the probe).</summary>
    internal RequestContextSettings Settings => _settings;

    [GlobalSetup]
    public void SetUp()
    {
        var options = new RequestContextOptions();
        options.Baggage.Add(Tenant, "tenant").Add(Region, "region").Add(Shard, "shard").Add(Cart, "cart");
        _settings = new RequestContextSettings(options);
        _baggage = _settings.Baggage;

        var members = Enumerable.Range(0, 60).Select(i => $"member{i}=value-{i}").ToList();
        members.Insert(10, "tenant=acme");
        members.Insert(20, "region=eu-west-1");
        members.Insert(30, "shard=17");
        members.Insert(40, "cart=0af76519-16cd-43dd-8448-eb211c80319c");
        var header = string.Join(",", members);
        _carrier["baggage"] = header;
        _lines = header;
        _empty = ExecutionContext.Capture()!;

        // Out: the 4 values set in a request's flow (and, for the first call of a request, in a flow without one), and
        // OpenTelemetry's Baggage of the same 4.
        _withValues = CaptureWithValues(inRequest: true);
        _withValuesNoRequest = CaptureWithValues(inRequest: false);
        _otelOut = new PropagationContext(default, OpenTelemetry.Baggage.Create(new Dictionary<string, string>
        {
            ["tenant"] = "acme",
            ["region"] = "eu-west-1",
            ["shard"] = "17",
            ["cart"] = "0af76519-16cd-43dd-8448-eb211c80319c",
        }));
    }

    private static ExecutionContext CaptureWithValues(bool inRequest)
    {
        ExecutionContext? captured = null;
        var thread = new Thread(() =>
        {
            if (inRequest)
            {
                RequestContext.Trace.Set(new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null));
            }

            Tenant.Set("acme");
            Region.Set("eu-west-1");
            Shard.Set(17);
            Cart.Set(Guid.Parse("0af76519-16cd-43dd-8448-eb211c80319c"));
            captured = ExecutionContext.Capture();
        });
        thread.Start();
        thread.Join();
        return captured!;
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Extract")]
    public void ExtractOpenTelemetry() => ExecutionContext.Run(_empty, static state =>
    {
        var self = (BaggageBenchmarks)state!;
        OpenTelemetry.Baggage.Current = s_otel.Extract(default, self._carrier, s_otelGetter).Baggage;
    }, this);

    [Benchmark]
    [BenchmarkCategory("Extract")]
    public void ExtractRequestContext() => ExecutionContext.Run(_empty, static state =>
    {
        var self = (BaggageBenchmarks)state!;
        BaggageReader.Apply(self._lines, self._baggage, null);
    }, this);

    [Benchmark]
    [BenchmarkCategory("Inject")]
    public void InjectOpenTelemetry() =>
        s_otel.Inject(_otelOut, _out, static (carrier, name, value) => carrier[name] = value);

    [Benchmark]
    [BenchmarkCategory("Inject")]
    public void InjectRequestContext() => ExecutionContext.Run(_withValues, static state =>
    {
        var self = (BaggageBenchmarks)state!;
        if (BaggageWriter.Compose(self._settings) is { } header)
        {
            self._out["baggage"] = header;
        }
    }, this);

    /// <summary>
    /// A call outside a request, or a request's first call: the header is composed (inside a request, later calls reuse
    /// it while the values are the same, as <see cref="InjectRequestContext"/> measures).
    /// </summary>
    [Benchmark]
    [BenchmarkCategory("Inject")]
    public void InjectRequestContextComposed() => ExecutionContext.Run(_withValuesNoRequest, static state =>
    {
        var self = (BaggageBenchmarks)state!;
        if (BaggageWriter.Compose(self._settings) is { } header)
        {
            self._out["baggage"] = header;
        }
    }, this);

    /// <summary>The cost of running inside the captured context, which the suite's injection pays and OpenTelemetry's does not.</summary>
    [Benchmark]
    [BenchmarkCategory("Inject")]
    public void InjectRunOverhead() => ExecutionContext.Run(_withValues, static _ => { }, null);
}

/// <summary>
/// A request without baggage through a real ASP.NET Core host (see <see cref="PipelineBenchmarks"/>): the suite as it
/// is, against the suite with 4 baggage variables registered. The feature must cost such a request nothing.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BytesConfig))]
public class BaggagePipelineBenchmarks
{
    private static readonly ContextVar<string?> Tenant = new("Tenant", null);
    private static readonly ContextVar<string?> Region = new("Region", null);
    private static readonly ContextVar<int?> Shard = new("Shard", null);
    private static readonly ContextVar<Guid?> Cart = new("Cart", null);
    private PipelineBenchmarks.Server _without = null!;
    private PipelineBenchmarks.Server _with = null!;

    /// <summary>Whether a logging provider is on (so hosting starts the request's Activity).</summary>
    [Params(true, false)]
    public bool Logging { get; set; }

    [GlobalSetup]
    public void SetUp()
    {
        _without = PipelineBenchmarks.Server.Start(Logging, true, static services => services.AddRequestContext(), static app => app.UseRequestContext());
        _with = PipelineBenchmarks.Server.Start(
            Logging,
            true,
            static services => services.AddRequestContext(options => options.Baggage.Add(Tenant, "tenant").Add(Region, "region").Add(Shard, "shard").Add(Cart, "cart")),
            static app => app.UseRequestContext());
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _without.Dispose();
        _with.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task NoBaggageRegistered() => _without.SendAsync();

    [Benchmark]
    public Task FourBaggageVariablesRegistered() => _with.SendAsync();
}
