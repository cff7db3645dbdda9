using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Testing;

/// <summary>
/// A real WebApplication, served by the in-memory TestServer or by Kestrel on 127.0.0.1, with every log event
/// collected.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, LogCollector logs, Uri baseAddress, HttpClient client)
    {
        App = app;
        Logs = logs;
        BaseAddress = baseAddress;
        Client = client;
    }

    public WebApplication App { get; }

    public LogCollector Logs { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public TestServer Server => (TestServer)App.Services.GetRequiredService<IServer>();

    public static async Task<TestApp> StartAsync(
        Action<WebApplication> configureApp,
        Action<WebApplicationBuilder>? configureBuilder = null,
        bool kestrel = false,
        string environment = "Production",
        bool collectLogs = true)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        var logs = new LogCollector();
        builder.Logging.ClearProviders();
        if (collectLogs)
        {
            builder.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug);
        }

        if (kestrel)
        {
            builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Services.AddRequestContext();
        configureBuilder?.Invoke(builder);
        var app = builder.Build();
        configureApp(app);
        await app.StartAsync();

        if (kestrel)
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
            // The test's own client adds no trace headers: a test sends exactly the headers it means to.
            var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null };
            return new TestApp(app, logs, address, new HttpClient(handler) { BaseAddress = address });
        }

        var server = (TestServer)app.Services.GetRequiredService<IServer>();
        return new TestApp(app, logs, server.BaseAddress, server.CreateClient());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
