namespace ContextMiddleware.Distributed.Worker;

/// <summary>
/// <c>-- worker</c>: a generic host without ASP.NET Core's pipeline that consumes the order queue
/// (<see cref="OrderConsumer"/>); each message's handler runs in the context the message carries.
/// </summary>
internal static class WorkerRole
{
    public static async Task RunAsync(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var settings = DistributedSettings.From(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        DistributedLogging.Add(services, Roles.Worker, settings);
        StopWhenInputCloses.AddTo(services, settings);

        services.AddRequestContextRabbitMQ();   // the request context without ASP.NET Core (AddRequestContextCore)
        services.AddHostedService<OrderConsumer>();

        using var host = builder.Build();
        await host.RunAsync();
    }
}
