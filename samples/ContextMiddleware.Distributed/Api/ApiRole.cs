using ContextMiddleware.AspNetCore;
using ContextMiddleware.Distributed.Jobs;
using Hangfire;
using Serilog;

namespace ContextMiddleware.Distributed.Api;

/// <summary>
/// <c>-- api</c>: a minimal API over Kestrel. <c>POST /orders/{id}</c> logs, publishes an <see cref="OrderPlaced"/>
/// message to the queue (RabbitMQ, through <c>RequestContextPublisher</c>) and enqueues the order's confirmation job
/// (Hangfire, a client only): both carry the request's id and trace to the other processes.
/// </summary>
internal static class ApiRole
{
    public static async Task RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var settings = DistributedSettings.From(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(settings);
        DistributedLogging.Add(services, Roles.Api, settings);
        StopWhenInputCloses.AddTo(services, settings);

        services.AddRequestContext();              // the request id, trace and user of every request
        services.AddRequestContextRabbitMQ();      // RequestContextPublisher
        services.AddSingleton<OrderQueue>();
        services.AddHostedService(provider => provider.GetRequiredService<OrderQueue>());
        HangfireStorage.Add(services, settings);   // the client: no server in this process

        await using var app = builder.Build();
        app.UseRequestContext();
        app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<global::Serilog.ILogger>());
        app.MapPost("/orders/{id:int}", PlaceOrderAsync);

        app.Lifetime.ApplicationStarted.Register(() =>
            app.Logger.LogInformation(LogTemplates.ApiReady, app.Urls.FirstOrDefault(), settings.Queue, settings.HangfireSchema));
        await app.RunAsync();
    }

    private static async Task<IResult> PlaceOrderAsync(
        int id,
        OrderQueue queue,
        IBackgroundJobClient jobs,
        IRequestContext request,
        ILoggerFactory loggers,
        CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("ContextMiddleware.Distributed.Api.Orders");
        logger.LogInformation(LogTemplates.Accepted, id);

        // Nothing here passes an id: the publisher and Hangfire's filter read the request's context.
        await queue.PublishAsync(new OrderPlaced(id), cancellationToken);
        var jobId = jobs.Enqueue<ConfirmationJob>(job => job.SendAsync(id));
        logger.LogInformation(LogTemplates.Enqueued, jobId, id);

        return TypedResults.Accepted($"/orders/{id}", new OrderAccepted(id, request.RequestId, request.TraceId, jobId));
    }
}
