using BenchmarkDotNet.Attributes;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// What a provider that shows scopes (the console with IncludeScopes, the JSON console, OpenTelemetry's logs) pays per
/// event to walk the scopes: the framework's scope provider alone (baseline), and the request scope provider that
/// <c>AddRequestContext()</c> registers, inside a request, with one app scope pushed in both.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BytesConfig))]
public class ScopeWalkBenchmarks
{
    private readonly Counter _counter = new();
    // Through the interface, as a logging provider calls them.
#pragma warning disable CA1859
    private IExternalScopeProvider _framework = null!;
    private IExternalScopeProvider _request = null!;
#pragma warning restore CA1859

    [GlobalSetup]
    public void SetUp()
    {
        // The framework's provider as a logger factory hands it to its providers (the one the request provider wraps).
        var receiver = new ScopeReceiver();
        using (LoggerFactory.Create(logging => logging.AddProvider(receiver)))
        {
            _framework = receiver.ScopeProvider!;
        }

        _request = new RequestScopeProvider(Options.Create(new LoggerFactoryOptions()), Options.Create(new RequestContextOptions()));
        var scope = new Dictionary<string, object> { ["OrderId"] = 42 };
        _framework.Push(scope);
        _request.Push(scope);

        // The request's context, as the middleware sets it; it stays in this thread's ExecutionContext.
        ContextVar.SetMany(
            RequestContext.RequestId, "0af7651916cd43dd8448eb211c80319c",
            RequestContext.Trace, new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null));
    }

    [Benchmark(Baseline = true)]
    public int FrameworkScopes()
    {
        _counter.Count = 0;
        _framework.ForEachScope(static (_, counter) => counter.Count++, _counter);
        return _counter.Count;
    }

    [Benchmark]
    public int WithRequestScope()
    {
        _counter.Count = 0;
        _request.ForEachScope(static (_, counter) => counter.Count++, _counter);
        return _counter.Count;
    }

    private sealed class Counter
    {
        public int Count;
    }

    private sealed class ScopeReceiver : ILoggerProvider, ISupportExternalScope
    {
        public IExternalScopeProvider? ScopeProvider { get; private set; }

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => ScopeProvider = scopeProvider;

        public ILogger CreateLogger(string categoryName) => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }
    }
}
