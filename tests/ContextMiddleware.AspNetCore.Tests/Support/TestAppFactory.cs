using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;

namespace ContextMiddleware.AspNetCore.Tests.Support;

/// <summary>
/// A WebApplicationFactory over a host defined here rather than by a Program class: the app that
/// <see cref="IsolationTests"/> drives through the factory's in-memory server and client.
/// </summary>
public sealed class TestAppFactory(Action<IApplicationBuilder> configureApp, Action<IServiceCollection> configureServices)
    : WebApplicationFactory<TestAppFactory>
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
