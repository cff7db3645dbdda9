using Hangfire;

namespace ContextMiddleware.Distributed.Jobs;

/// <summary>
/// <c>-- jobs</c>: a generic host running a Hangfire server on the PostgreSQL storage the API enqueues into; each job
/// (<see cref="ConfirmationJob"/>) runs in the context of the request that created it.
/// </summary>
internal static class JobsRole
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
        DistributedLogging.Add(services, Roles.Jobs, settings);
        StopWhenInputCloses.AddTo(services, settings);

        services.AddRequestContextCore();   // the request context without ASP.NET Core
        HangfireStorage.Add(services, settings);
        services.AddHangfireServer(options =>
        {
            options.WorkerCount = 2;
            options.SchedulePollingInterval = TimeSpan.FromSeconds(1);
            options.ShutdownTimeout = TimeSpan.FromSeconds(3);
        });
        services.AddTransient<ConfirmationJob>();

        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var logger = host.Services.GetRequiredService<ILogger<ConfirmationJob>>();
        lifetime.ApplicationStarted.Register(() => logger.LogInformation(LogTemplates.JobsReady, settings.HangfireSchema));
        await host.RunAsync();
    }
}
