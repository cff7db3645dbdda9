using ContextMiddleware.Sample;
using ContextMiddleware.Sample.Demo;

// dotnet run --project samples/ContextMiddleware.Sample                 serves the API and prints curl commands to try
// dotnet run --project samples/ContextMiddleware.Sample -- demo         self-running demo: two concurrent requests, then exits
// dotnet run --project samples/ContextMiddleware.Sample -- engine-demo  the classic contextvars examples on the bare engine
switch (args is [var first, ..] && !first.StartsWith('-') ? first : "serve")
{
    case "serve":
        break;
    case "demo":
        return await SampleDemo.RunAsync(Console.Out, args[1..]);
    case "engine-demo":
        await EngineDemo.RunAsync(Console.Out);
        return 0;
    default:
        Console.Error.WriteLine(
            $"Unknown command '{args[0]}'. Usage: dotnet run --project samples/ContextMiddleware.Sample [-- demo | engine-demo]");
        return 2;
}

var builder = WebApplication.CreateBuilder(args);
SampleApp.ConfigureServices(builder);

var app = builder.Build();
SampleApp.Configure(app);
app.Lifetime.ApplicationStarted.Register(() => TryCommands.Write(Console.Out, app));
await app.RunAsync();
return 0;
