namespace ContextMiddleware.Distributed;

/// <summary>
/// Stops the host when standard input closes: the demo closes a child's input to stop it gracefully, and a child whose
/// demo died (its end of the pipe closed with it) stops too, so no child outlives its demo.
/// </summary>
internal sealed class StopWhenInputCloses(IHostApplicationLifetime lifetime) : IHostedService
{
    public static void AddTo(IServiceCollection services, DistributedSettings settings)
    {
        if (settings.StopWhenInputCloses)
        {
            services.AddHostedService<StopWhenInputCloses>();
        }

        // A bounded graceful stop: the demo kills a child that has not stopped in time.
        services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(5));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var reader = new Thread(() =>
        {
            try
            {
                while (Console.In.ReadLine() is not null)
                {
                }
            }
            catch (IOException)
            {
            }

            lifetime.StopApplication();
        })
        {
            IsBackground = true,
            Name = "stop when standard input closes",
        };
        reader.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
