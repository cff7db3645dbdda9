using ContextMiddleware.Sample;

// The engine demo reproduces the guide's examples. The ASP.NET Core sample arrives with the middleware.
var command = args.Length > 0 ? args[0] : "engine-demo";
switch (command)
{
    case "engine-demo":
        await EngineDemo.RunAsync(Console.Out);
        return 0;
    default:
        Console.Error.WriteLine($"Unknown command '{command}'. Usage: dotnet run --project samples/ContextMiddleware.Sample [-- engine-demo]");
        return 2;
}
