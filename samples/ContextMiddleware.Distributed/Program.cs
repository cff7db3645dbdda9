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
        await ApiRole.RunAsync(rest);
        return 0;
    case Roles.Worker:
        await WorkerRole.RunAsync(rest);
        return 0;
    case Roles.Jobs:
        await JobsRole.RunAsync(rest);
        return 0;
    default:
        Console.Error.WriteLine(
            $"Unknown command '{command}'. Usage: dotnet run --project samples/ContextMiddleware.Distributed [-- demo | api | worker | jobs] [--Distributed:Queue=orders ...]");
        return DistributedDemo.UsageExitCode;
}
