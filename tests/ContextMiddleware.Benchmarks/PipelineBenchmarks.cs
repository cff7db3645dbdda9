using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using Perfolizer.Metrology;
using CorrelationId;
using CorrelationId.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// One request through a built pipeline, in process: a bare pipeline, the CorrelationId 3.0.1 package, and
/// UseRequestContext (request id, trace, user). Each request is what the host does around the pipeline: a new
/// DefaultHttpContext (with, when <see cref="IncomingId"/>, an X-Request-ID and a traceparent), the
/// IHttpContextAccessor set when one is registered, the trace headers extracted through the registered
/// DistributedContextPropagator (the runtime's, or ContextMiddleware's under UseRequestContext), the request Activity
/// that ASP.NET Core's hosting starts, and the response's OnStarting callbacks fired.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(BytesConfig))]
public class PipelineBenchmarks
{
    private static readonly DistributedContextPropagator.PropagatorGetterCallback s_getter =
        static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
        {
            values = null;
            value = ((IHeaderDictionary)carrier!)[name];
        };

    private Pipeline _bare = null!;
    private Pipeline _correlationId = null!;
    private Pipeline _requestContext = null!;
    private Pipeline _requestContextWithScopes = null!;

    /// <summary>Whether the request carries an id (X-Request-ID and X-Correlation-ID) or each middleware makes one.</summary>
    [Params(false, true)]
    public bool IncomingId { get; set; }

    [GlobalSetup]
    public void SetUp()
    {
        _bare = Build(static _ => { }, static _ => { });
        _correlationId = Build(
            static services => services.AddDefaultCorrelationId(),
            static app => app.UseCorrelationId());
        _requestContext = Build(
            static services => services.AddRequestContext(),
            static app => app.UseRequestContext());
        _requestContextWithScopes = Build(
            static services => services.AddRequestContext().AddSingleton<ILoggerProvider, ScopeAwareProvider>(),
            static app => app.UseRequestContext());
    }

    [Benchmark(Baseline = true)]
    public Task Bare() => InvokeAsync(_bare, IncomingId);

    [Benchmark]
    public Task CorrelationIdPackage() => InvokeAsync(_correlationId, IncomingId);

    [Benchmark]
    public Task UseRequestContext() => InvokeAsync(_requestContext, IncomingId);

    /// <summary>With a logging provider that shows scopes (as the console does), so the request scope is pushed.</summary>
    [Benchmark]
    public Task UseRequestContextWithScopes() => InvokeAsync(_requestContextWithScopes, IncomingId);

    private static async Task InvokeAsync(Pipeline pipeline, bool incomingId)
    {
        var response = new BenchmarkResponseFeature();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseFeature>(response);
        context.RequestServices = pipeline.Services;
        context.Request.Method = "GET";
        context.Request.Path = "/";
        if (incomingId)
        {
            context.Request.Headers["X-Request-ID"] = "0af7651916cd43dd8448eb211c80319c";
            context.Request.Headers["X-Correlation-ID"] = "0af7651916cd43dd8448eb211c80319c";
            context.Request.Headers["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        }

        if (pipeline.Accessor is { } accessor)
        {
            accessor.HttpContext = context;
        }

        pipeline.Propagator.ExtractTraceIdAndState(context.Request.Headers, s_getter, out var parentId, out var traceState);
        var activity = new Activity("Microsoft.AspNetCore.Hosting.HttpRequestIn");
        if (parentId is not null)
        {
            activity.SetParentId(parentId);
            activity.TraceStateString = traceState;
        }

        activity.Start();
        try
        {
            await pipeline.App(context);
            await response.FireOnStartingAsync();
        }
        finally
        {
            activity.Stop();
            if (pipeline.Accessor is { } accessor2)
            {
                accessor2.HttpContext = null;
            }
        }
    }

    private static Pipeline Build(Action<IServiceCollection> addServices, Action<IApplicationBuilder> use)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddOptions();
        addServices(services);
        var provider = services.BuildServiceProvider();
        var app = new ApplicationBuilder(provider);
        use(app);
        app.Run(static context => Task.CompletedTask);
        return new Pipeline(
            app.Build(),
            provider,
            provider.GetService<IHttpContextAccessor>(),
            provider.GetService<DistributedContextPropagator>() ?? DistributedContextPropagator.Current);
    }

    /// <summary>A provider that takes part in scopes and writes nothing (its loggers are disabled).</summary>
    private sealed class ScopeAwareProvider : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void SetScopeProvider(IExternalScopeProvider scopeProvider)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed record Pipeline(RequestDelegate App, IServiceProvider Services, IHttpContextAccessor? Accessor, DistributedContextPropagator Propagator);

    /// <summary>A response feature that records OnStarting callbacks and fires them, as a server does.</summary>
    private sealed class BenchmarkResponseFeature : HttpResponseFeature
    {
        private List<(Func<object, Task> Callback, object State)>? _onStarting;

        public override void OnStarting(Func<object, Task> callback, object state) =>
            (_onStarting ??= []).Add((callback, state));

        public override void OnCompleted(Func<object, Task> callback, object state)
        {
        }

        public async Task FireOnStartingAsync()
        {
            if (_onStarting is null)
            {
                return;
            }

            for (var i = _onStarting.Count - 1; i >= 0; i--)
            {
                await _onStarting[i].Callback(_onStarting[i].State);
            }

            _started = true;
        }

        private bool _started;

        public override bool HasStarted => _started;
    }

    /// <summary>Allocations in bytes, not rounded to KB: the differences are tens of bytes.</summary>
    private sealed class BytesConfig : ManualConfig
    {
        public BytesConfig() => SummaryStyle = SummaryStyle.Default.WithSizeUnit(SizeUnit.B);
    }
}
