using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Benchmarks;

/// <summary>
/// One echo invocation through SignalR's real hub pipeline (<c>HubConnectionHandler</c>: the JSON protocol, the
/// dispatcher, the hub filters, the hub), over an in-memory connection, so that the figures are SignalR's and the
/// invocation context's, not the sockets'. <see cref="Bare"/> is the same hub without <c>AddRequestContext()</c>.
/// </summary>
/// <remarks>
/// <see cref="Listened"/>: whether something listens to SignalR's ActivitySource (OpenTelemetry's tracing of SignalR),
/// so that SignalR starts each invocation's Activity itself; otherwise the invocation context starts one.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(BytesConfig))]
public class HubInvocationBenchmarks
{
    private IEchoHub _bare = null!;
    private IEchoHub _requestContext = null!;
    private ActivityListener? _listener;

    [Params(false, true)]
    public bool Listened { get; set; }

    /// <summary>In memory (SignalR's pipeline alone), or a .NET client over a WebSocket to Kestrel on 127.0.0.1.</summary>
    [Params("InMemory", "WebSocket")]
    public string Transport { get; set; } = "InMemory";

    [GlobalSetup]
    public void SetUp()
    {
        if (Listened)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = static source => source.Name == "Microsoft.AspNetCore.SignalR.Server",
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        _bare = Transport == "InMemory" ? InMemoryHub.Start(withRequestContext: false) : WebSocketHub.Start(withRequestContext: false);
        _requestContext = Transport == "InMemory" ? InMemoryHub.Start(withRequestContext: true) : WebSocketHub.Start(withRequestContext: true);
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _bare.Dispose();
        _requestContext.Dispose();
        _listener?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task Bare() => _bare.InvokeEchoAsync();

    [Benchmark]
    public Task AddRequestContext() => _requestContext.InvokeEchoAsync();

    internal interface IEchoHub : IDisposable
    {
        Task InvokeEchoAsync();
    }

    /// <summary>A Kestrel app on 127.0.0.1 with the hub, and a .NET client connected over a WebSocket.</summary>
    internal sealed class WebSocketHub : IEchoHub
    {
        private WebApplication _app = null!;
        private Microsoft.AspNetCore.SignalR.Client.HubConnection _connection = null!;

        public static WebSocketHub Start(bool withRequestContext)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new ScopeAwareProvider()).SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
            var signalR = builder.Services.AddSignalR();
            if (withRequestContext)
            {
                builder.Services.AddRequestContext();
                signalR.AddRequestContext();
            }

            var hub = new WebSocketHub { _app = builder.Build() };
            if (withRequestContext)
            {
                hub._app.UseRequestContext();
            }

            hub._app.MapHub<EchoHub>("/echo");
            hub._app.StartAsync().GetAwaiter().GetResult();
            var address = hub._app.Urls.First();
            hub._connection = new Microsoft.AspNetCore.SignalR.Client.HubConnectionBuilder()
                .WithUrl($"{address}/echo", Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets, options => options.SkipNegotiation = true)
                .Build();
            hub._connection.StartAsync().GetAwaiter().GetResult();
            hub.InvokeEchoAsync().GetAwaiter().GetResult();
            return hub;
        }

        public Task InvokeEchoAsync() => Microsoft.AspNetCore.SignalR.Client.HubConnectionExtensions.InvokeAsync<string>(_connection, "Echo", "hello");

        public void Dispose()
        {
            _connection.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _app.StopAsync().GetAwaiter().GetResult();
            ((IDisposable)_app).Dispose();
        }
    }

    /// <summary>A hub's connection handler with one connection, fed and read through pipes.</summary>
    internal sealed class InMemoryHub : IEchoHub
    {
        private static readonly byte[] Handshake = Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e");
        private static readonly byte[] Echo = Encoding.UTF8.GetBytes("{\"type\":1,\"invocationId\":\"1\",\"target\":\"Echo\",\"arguments\":[\"hello\"]}\u001e");

        private readonly ServiceProvider _services;
        // Inline schedulers: the server reads the invocation, runs it and writes the completion on the benchmark's
        // thread, so that thread-pool hops do not drown the difference being measured.
        private static readonly PipeOptions Inline = new(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);
        private readonly Pipe _toServer = new(Inline);
        private readonly Pipe _toClient = new(Inline);
        private readonly DefaultConnectionContext _connection;
        private readonly Task _running;

        private InMemoryHub(bool withRequestContext)
        {
            var services = new ServiceCollection();
            services.AddLogging(logging => logging.AddProvider(new ScopeAwareProvider()).SetMinimumLevel(LogLevel.Warning));
            var signalR = services.AddSignalR();
            if (withRequestContext)
            {
                signalR.AddRequestContext();
            }

            _services = services.BuildServiceProvider();
            _connection = new DefaultConnectionContext(
                Guid.NewGuid().ToString(), new DuplexPipe(_toServer.Reader, _toClient.Writer), new DuplexPipe(_toClient.Reader, _toServer.Writer));
            _running = _services.GetRequiredService<Microsoft.AspNetCore.SignalR.HubConnectionHandler<EchoHub>>().OnConnectedAsync(_connection);
        }

        public static InMemoryHub Start(bool withRequestContext)
        {
            var hub = new InMemoryHub(withRequestContext);
            hub._toServer.Writer.WriteAsync(Handshake).AsTask().GetAwaiter().GetResult();
            hub.ReadRecordAsync().AsTask().GetAwaiter().GetResult();
            var answer = hub.InvokeEchoAsync();
            answer.GetAwaiter().GetResult();
            return hub;
        }

        public async Task InvokeEchoAsync()
        {
            await _toServer.Writer.WriteAsync(Echo);
            while (!await ReadRecordAsync())
            {
            }
        }

        /// <summary>Reads one record; whether it was a completion.</summary>
        private async ValueTask<bool> ReadRecordAsync()
        {
            while (true)
            {
                var result = await _toClient.Reader.ReadAsync();
                var buffer = result.Buffer;
                var end = buffer.PositionOf((byte)0x1e);
                if (end is { } position)
                {
                    var record = buffer.Slice(0, position);
                    var completion = record.Length > 8 && record.FirstSpan.IndexOf("\"type\":3"u8) >= 0;
                    _toClient.Reader.AdvanceTo(buffer.GetPosition(1, position));
                    return completion || record.Length <= 3; // the handshake's answer is "{}"
                }

                if (result.IsCompleted)
                {
                    throw new InvalidOperationException("The hub closed the connection.");
                }

                _toClient.Reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }

        public void Dispose()
        {
            _toServer.Writer.Complete();
            _running.Wait(TimeSpan.FromSeconds(5));
            _services.Dispose();
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    public sealed class EchoHub : Hub
    {
        public string Echo(string value) => value;
    }
}
