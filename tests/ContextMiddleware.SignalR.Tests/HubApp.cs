using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>An app with <see cref="ContextHub"/> at /hub, over Kestrel on 127.0.0.1, JWT bearer authentication on.</summary>
internal static class HubApp
{
    public static Task<TestApp> StartAsync(
        Action<RequestContextOptions>? options = null,
        Action<WebApplicationBuilder>? configureBuilder = null,
        bool useRequestContext = true) =>
        TestApp.StartAsync(
            app =>
            {
                if (useRequestContext)
                {
                    app.UseRequestContext();
                }

                app.UseAuthentication();
                app.UseAuthorization();
                app.MapHub<ContextHub>("/hub");
                app.MapGet("/ping", () => RequestContext.RequestId.Get());
            },
            builder =>
            {
                builder.Services.AddRequestContext(options);
                Jwt.AddJwtBearer(builder);
                builder.Services.AddAuthorization();
                builder.Services.AddSingleton<LifetimeRecorder>();
                builder.Services.AddRequestContextBackgroundQueue();
                builder.Services.AddSignalR(hub => hub.MaximumParallelInvocationsPerClient = 4).AddRequestContext();
                configureBuilder?.Invoke(builder);
            },
            kestrel: true);

    /// <summary>A started .NET client connection to the app's hub.</summary>
    public static async Task<HubConnection> ConnectAsync(TestApp app, HttpTransportType transport, string? accessToken = null)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "/hub"), transport, options =>
            {
                if (accessToken is not null)
                {
                    options.AccessTokenProvider = () => Task.FromResult<string?>(accessToken);
                }
            })
            .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .Build();
        await connection.StartAsync();
        return connection;
    }
}
