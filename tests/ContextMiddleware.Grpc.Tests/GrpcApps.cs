using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ContextMiddleware.Grpc.Tests;

/// <summary>gRPC apps over Kestrel, HTTP/2 without TLS on 127.0.0.1, JWT bearer authentication on.</summary>
internal static class GrpcApps
{
    /// <summary>A baggage variable every app registers (key <c>tenant</c>).</summary>
    public static readonly ContextVar<string?> Tenant = new("GrpcTenant", null);

    public static Task<TestApp> StartAsync(Action<WebApplicationBuilder>? configureBuilder = null, Action<RequestContextOptions>? options = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapGrpcService<ProbeService>();
            },
            builder =>
            {
                builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2));
                builder.Services.AddRequestContext(o =>
                {
                    o.Baggage.Add(Tenant, "tenant");
                    options?.Invoke(o);
                });
                Jwt.AddJwtBearer(builder);
                builder.Services.AddAuthorization();
                builder.Services.AddGrpc().AddRequestContext();
                configureBuilder?.Invoke(builder);
            },
            kestrel: true);

    /// <summary>A client of <paramref name="app"/> through the client factory, the way an app would call it.</summary>
    public static ServiceProvider ClientServices(TestApp app, Action<IHttpClientBuilder>? configure = null, string? accessToken = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var client = services.AddGrpcClient<ContextProbe.ContextProbeClient>(options => options.Address = app.BaseAddress);
        if (accessToken is not null)
        {
            client.AddCallCredentials((_, metadata) =>
            {
                metadata.Add("Authorization", $"Bearer {accessToken}");
                return Task.CompletedTask;
            }).ConfigureChannel(channel => channel.UnsafeUseInsecureChannelCallCredentials = true);
        }

        configure?.Invoke(client);
        return services.BuildServiceProvider();
    }
}
