using ContextMiddleware.AspNetCore;
using ContextMiddleware.WorkerApp;
using Serilog;

// A message consumer: `ContextMiddleware.WorkerApp --header X-Request-ID=req-1 --header traceparent=00-...`
// extracts the message's context from the headers, runs its handler in it, and logs through Serilog.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddRequestContextCore();
builder.Services.AddSerilog(logger => logger
    .Enrich.WithRequestContext()
    .WriteTo.Console(outputTemplate: "{RequestId} {TraceId} {Message:lj}{NewLine}"));
builder.Services.AddSingleton(new Message(Headers.Parse(args)));
builder.Services.AddHostedService<Consumer>();

await builder.Build().RunAsync();
