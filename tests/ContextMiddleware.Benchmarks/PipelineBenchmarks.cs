using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using CorrelationId;
using CorrelationId.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Perfolizer.Metrology;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// One request through a real ASP.NET Core host, as a server runs it: ASP.NET Core's own hosting application creates
/// the request's context (its Activity, its logging scope, the pooled HttpContext of a kept-alive connection), runs
/// the pipeline, fires the response's OnStarting callbacks and disposes the context. The server is a stand-in that
/// does only that, so the figures are the pipeline's and hosting's, not the sockets'.
/// </summary>
/// <remarks>
/// <see cref="Logging"/>: a logging provider is on (at Warning, taking part in scopes, as the console is), so hosting
/// starts the request's Activity; or no provider and no listener at all, so that the suite must make the trace ids
/// itself. <see cref="IncomingId"/>: the request carries <c>X-Request-ID</c> and a <c>traceparent</c>, or nothing.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(BytesConfig))]
public class PipelineBenchmarks
{
    private Server _bare = null!;
    private Server _correlationId = null!;
    private Server _requestContext = null!;

    /// <summary>Whether a logging provider is on (so hosting starts the request's Activity).</summary>
    [Params(true, false)]
    public bool Logging { get; set; }

    /// <summary>Whether the request carries an id and a traceparent, or each middleware makes its own.</summary>
    [Params(false, true)]
    public bool IncomingId { get; set; }

    [GlobalSetup]
    public void SetUp()
    {
        _bare = Server.Start(Logging, IncomingId, static _ => { }, static _ => { });
        _correlationId = Server.Start(Logging, IncomingId, static services => services.AddDefaultCorrelationId(), static app => app.UseCorrelationId());
        _requestContext = Server.Start(Logging, IncomingId, static services => services.AddRequestContext(), static app => app.UseRequestContext());
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _bare.Dispose();
        _correlationId.Dispose();
        _requestContext.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task Bare() => _bare.SendAsync();

    [Benchmark]
    public Task CorrelationIdPackage() => _correlationId.SendAsync();

    [Benchmark]
    public Task UseRequestContext() => _requestContext.SendAsync();

    /// <summary>A host whose server hands one connection's requests to ASP.NET Core's hosting application.</summary>
    private sealed class Server : IServer, IDisposable
    {
        private WebApplication _app = null!;
        private Func<Task> _send = null!;

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public static Server Start(bool logging, bool incomingId, Action<IServiceCollection> addServices, Action<WebApplication> use)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.Logging.ClearProviders();
            if (logging)
            {
                builder.Logging.AddProvider(new ScopeAwareProvider()).SetMinimumLevel(LogLevel.Warning);
            }

            var server = new Server();
            builder.Services.AddSingleton<IServer>(server);
            addServices(builder.Services);
            var app = builder.Build();
            use(app);
            app.Run(static _ => Task.CompletedTask);
            app.StartAsync().GetAwaiter().GetResult();
            server._app = app;
            if (incomingId)
            {
                server._incoming = true;
            }

            server.SendAsync().GetAwaiter().GetResult(); // the connection's first request creates what later ones reuse
            return server;
        }

        private bool _incoming;

        public Task SendAsync() => _send();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull
        {
            var connection = new Connection<TContext>();
            _send = () => connection.ProcessAsync(application, _incoming);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
            _app.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)_app).Dispose();
        }
    }

    /// <summary>One kept-alive connection: its features are reused request after request, as Kestrel's are.</summary>
    private sealed class Connection<TContext> : FeatureCollection, IHostContextContainer<TContext>, IHttpResponseFeature
        where TContext : notnull
    {
        private readonly HttpRequestFeature _request = new();
        private readonly List<(Func<object, Task> Callback, object State)> _onStarting = [];
        private readonly HeaderDictionary _responseHeaders = [];

        public Connection()
        {
            Set<IHttpRequestFeature>(_request);
            Set<IHttpResponseFeature>(this);
            Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
            Set<IHttpConnectionFeature>(new HttpConnectionFeature { RemoteIpAddress = System.Net.IPAddress.Loopback, ConnectionId = "bench" });
        }

        public TContext? HostContext { get; set; }

        public int StatusCode { get; set; } = 200;

        public string? ReasonPhrase { get; set; }

        public IHeaderDictionary Headers { get; set; } = null!;

        public Stream Body { get; set; } = Stream.Null;

        public bool HasStarted { get; private set; }

        public void OnStarting(Func<object, Task> callback, object state) => _onStarting.Add((callback, state));

        public void OnCompleted(Func<object, Task> callback, object state)
        {
        }

        public async Task ProcessAsync(IHttpApplication<TContext> application, bool incomingId)
        {
            // The request as a server parses it; the per-request state reset, as a kept-alive connection does.
            _request.Method = "GET";
            _request.Path = "/";
            _request.Headers.Clear();
            if (incomingId)
            {
                _request.Headers["X-Request-ID"] = "0af7651916cd43dd8448eb211c80319c";
                _request.Headers["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            }

            _responseHeaders.Clear();
            Headers = _responseHeaders;
            StatusCode = 200;
            HasStarted = false;
            _onStarting.Clear();

            var context = application.CreateContext(this);
            Exception? exception = null;
            try
            {
                await application.ProcessRequestAsync(context);
                for (var i = _onStarting.Count - 1; i >= 0; i--)
                {
                    await _onStarting[i].Callback(_onStarting[i].State);
                }

                HasStarted = true;
            }
            catch (Exception caught)
            {
                exception = caught;
            }

            application.DisposeContext(context, exception);
        }
    }

    /// <summary>A provider that takes part in scopes and writes nothing (it is on at Warning, and nothing warns).</summary>
    private sealed class ScopeAwareProvider : ILoggerProvider, ISupportExternalScope
    {
        public ILogger CreateLogger(string categoryName) => new Logger();

        public void SetScopeProvider(IExternalScopeProvider scopeProvider)
        {
        }

        public void Dispose()
        {
        }

        private sealed class Logger : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
            }
        }
    }

    /// <summary>Allocations in bytes, not rounded to KB: the differences are tens of bytes.</summary>
    private sealed class BytesConfig : ManualConfig
    {
        public BytesConfig() => SummaryStyle = SummaryStyle.Default.WithSizeUnit(SizeUnit.B);
    }
}
