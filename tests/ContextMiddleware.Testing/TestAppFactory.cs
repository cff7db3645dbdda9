using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;

namespace ContextMiddleware.Testing;

/// <summary>
/// A WebApplicationFactory over a host defined here rather than by a Program class: the app that
/// isolation tests drive through the factory's in-memory server and client.
/// </summary>
/// <typeparam name="TEntryPoint">A type of the test assembly (the factory wants an assembly with an entry point).</typeparam>
public sealed class TestAppFactory<TEntryPoint>(Action<IApplicationBuilder> configureApp, Action<IServiceCollection> configureServices)
    : WebApplicationFactory<TEntryPoint>
    where TEntryPoint : class
{
    protected override IHostBuilder CreateHostBuilder() =>
        Host.CreateDefaultBuilder()
            .ConfigureWebHostDefaults(web => web
                .UseContentRoot(AppContext.BaseDirectory)
                .ConfigureServices(services =>
                {
                    services.AddRouting();
                    services.AddRequestContext();
                    configureServices(services);
                })
                .Configure(configureApp));

    // The factory guesses a content root from the solution layout; this host has no content, so use the output folder.
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseContentRoot(AppContext.BaseDirectory);
}
