using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CorrelationId;
using CorrelationId.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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
    internal sealed class Server : IServer, IDisposable
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

    /// <summary>
    /// One kept-alive connection, with Kestrel's shape: the connection object is the feature collection, the request's
    /// standard features are the connection itself (found by a type test, as Kestrel's generated code does), any other
    /// feature goes into a small list, and everything is reset between requests, with the revision that tells
    /// HttpContext to look its features up again.
    /// </summary>
    private sealed class Connection<TContext> : IFeatureCollection, IHostContextContainer<TContext>,
        IHttpRequestFeature, IHttpResponseFeature, IHttpConnectionFeature, IHttpRequestIdentifierFeature
        where TContext : notnull
    {
        private static readonly System.Net.IPAddress s_loopback = System.Net.IPAddress.Loopback;
        private readonly List<KeyValuePair<Type, object>> _extra = [];
        private readonly List<(Func<object, Task> Callback, object State)> _onStarting = [];
        private readonly HeaderDictionary _requestHeaders = [];
        private readonly HeaderDictionary _responseHeaders = [];
        private readonly IHttpResponseBodyFeature _body = new StreamResponseBodyFeature(Stream.Null);
        private int _requestCount;
        private string? _traceIdentifier;

        public TContext? HostContext { get; set; }

        public bool IsReadOnly => false;

        public int Revision { get; private set; }

        // IHttpRequestFeature
        public string Protocol { get; set; } = "HTTP/1.1";

        public string Scheme { get; set; } = "http";

        public string Method { get; set; } = "GET";

        public string PathBase { get; set; } = "";

        public string Path { get; set; } = "/";

        public string QueryString { get; set; } = "";

        public string RawTarget { get; set; } = "/";

        IHeaderDictionary IHttpRequestFeature.Headers { get => _requestHeaders; set { } }

        Stream IHttpRequestFeature.Body { get => Stream.Null; set { } }

        // IHttpResponseFeature
        public int StatusCode { get; set; } = 200;

        public string? ReasonPhrase { get; set; }

        IHeaderDictionary IHttpResponseFeature.Headers { get => _responseHeaders; set { } }

        Stream IHttpResponseFeature.Body { get => Stream.Null; set { } }

        public bool HasStarted { get; private set; }

        // IHttpConnectionFeature
        public string ConnectionId { get; set; } = "bench";

        public System.Net.IPAddress? RemoteIpAddress { get => s_loopback; set { } }

        public System.Net.IPAddress? LocalIpAddress { get => s_loopback; set { } }

        public int RemotePort { get; set; } = 40000;

        public int LocalPort { get; set; } = 5000;

        // IHttpRequestIdentifierFeature: made on first read, as Kestrel's connection-based id is.
        public string TraceIdentifier
        {
            get => _traceIdentifier ??= string.Create(System.Globalization.CultureInfo.InvariantCulture, $"bench:{_requestCount:X8}");
            set => _traceIdentifier = value;
        }

        public object? this[Type key]
        {
            get => Get(key);
            set
            {
                Revision++;
                for (var i = 0; i < _extra.Count; i++)
                {
                    if (_extra[i].Key == key)
                    {
                        if (value is null)
                        {
                            _extra.RemoveAt(i);
                        }
                        else
                        {
                            _extra[i] = new(key, value);
                        }

                        return;
                    }
                }

                if (value is not null)
                {
                    _extra.Add(new(key, value));
                }
            }
        }

        public TFeature? Get<TFeature>() => (TFeature?)Get(typeof(TFeature));

        public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() => _extra.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public void OnStarting(Func<object, Task> callback, object state) => _onStarting.Add((callback, state));

        public void OnCompleted(Func<object, Task> callback, object state)
        {
        }

        private object? Get(Type key)
        {
            if (key == typeof(IHttpRequestFeature) || key == typeof(IHttpResponseFeature) || key == typeof(IHttpConnectionFeature) ||
                key == typeof(IHttpRequestIdentifierFeature))
            {
                return this;
            }

            if (key == typeof(IHttpResponseBodyFeature))
            {
                return _body;
            }

            foreach (var feature in _extra)
            {
                if (feature.Key == key)
                {
                    return feature.Value;
                }
            }

            return null;
        }

        public async Task ProcessAsync(IHttpApplication<TContext> application, bool incomingId)
        {
            // The next request on the connection: the previous one's state reset, its headers parsed.
            _requestCount++;
            _traceIdentifier = null;
            _extra.Clear();
            Revision++;
            _requestHeaders.Clear();
            if (incomingId)
            {
                _requestHeaders["X-Request-ID"] = "0af7651916cd43dd8448eb211c80319c";
                _requestHeaders["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            }

            _responseHeaders.Clear();
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
}
