using ContextMiddleware.Distributed;
using ContextMiddleware.Distributed.Api;
using ContextMiddleware.Distributed.Demo;
using ContextMiddleware.Distributed.Jobs;
using ContextMiddleware.Distributed.Worker;

// dotnet run --project samples/ContextMiddleware.Distributed [-- demo]  starts api, worker and jobs, sends one request,
//                                                                    prints their log lines interleaved, checks them
// dotnet run --project samples/ContextMiddleware.Distributed -- api     the API: POST /orders/{id} publishes and enqueues
// dotnet run --project samples/ContextMiddleware.Distributed -- worker  consumes the RabbitMQ queue
// dotnet run --project samples/ContextMiddleware.Distributed -- jobs    the Hangfire server that performs the jobs
// Settings from appsettings.json, the environment and the command line (--Distributed:Queue=orders).
var command = args is [var first, ..] && !first.StartsWith('-') ? first : "demo";
var rest = args is [var head, ..] && !head.StartsWith('-') ? args[1..] : args;
switch (command)
{
    case "demo":
        return await DistributedDemo.RunAsync(Console.Out, rest);
    case Roles.Api:
        return await RunRoleAsync(ApiRole.RunAsync, rest);
    case Roles.Worker:
        return await RunRoleAsync(WorkerRole.RunAsync, rest);
    case Roles.Jobs:
        return await RunRoleAsync(JobsRole.RunAsync, rest);
    default:
        Console.Error.WriteLine(
            $"Unknown command '{command}'. Usage: dotnet run --project samples/ContextMiddleware.Distributed [-- demo | api | worker | jobs] [--Distributed:Queue=orders ...]");
        return DistributedDemo.UsageExitCode;
}

// A role asked to stop while it was still starting (the demo interrupted) has stopped as asked: not a crash.
static async Task<int> RunRoleAsync(Func<string[], Task> run, string[] args)
{
    try
    {
        await run(args);
        return 0;
    }
    catch (OperationCanceledException)
    {
        return 0;
    }
}
