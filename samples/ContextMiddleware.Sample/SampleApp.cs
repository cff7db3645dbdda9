using ContextMiddleware.AspNetCore;
using ContextMiddleware.Sample.Orders;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Serilog;
using Serilog.Formatting.Compact;

namespace ContextMiddleware.Sample;

/// <summary>
/// The sample API: its services, its logging and its endpoints. <c>Program.cs</c> serves it; the demo starts the same
/// app on a free loopback port.
/// </summary>
internal static class SampleApp
{
    /// <summary>The console line: every line shows its request's id, trace id and user, none of them passed by the code.</summary>
    public const string ConsoleTemplate =
        "{Timestamp:HH:mm:ss.fff} {Level:u3} {RequestId,-8} {TraceId} {UserId,-6} {Message:lj}{NewLine}{Exception}";

    /// <summary>The configuration section of the sample's own settings.</summary>
    public const string SectionName = "Sample";

    public static void ConfigureServices(WebApplicationBuilder builder)
    {
        var services = builder.Services;

        // ContextMiddleware: a request id, W3C trace ids and the user for every request, readable anywhere.
        services.AddRequestContext();                 // options from the "RequestContext" section
        services.AddRequestContextBackgroundQueue();  // IBackgroundWorkQueue: jobs keep their request's context
        services.AddSignalR().AddRequestContext();    // every hub invocation in a request context of its own

        // Serilog, with RequestId, TraceId, SpanId, UserId and UserName on every event. The logger belongs to this
        // host (preserveStaticLogger): the tests and the demo start several hosts in one process.
        services.AddSerilog(
            (provider, logger) => ConfigureLogging(provider.GetRequiredService<IConfiguration>(), provider, logger),
            preserveStaticLogger: true);

        // JWT bearer from "Authentication:Schemes:Bearer" (appsettings.Development.json, the layout of dotnet user-jwts).
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddAuthorization();
        services.AddProblemDetails();
        services.AddSingleton<DevTokenIssuer>();

        // The classic contextvars example's handle_request -> fetch_user_data -> process_payment, as services that never take an id.
        services.AddScoped<OrderService>();
        services.AddScoped<UserDirectory>();
        services.AddSingleton<InventoryService>();
        services.AddSingleton<ConfirmationEmails>();
        services.AddSingleton<SelfAddress>();

        // The payment service is reached over HTTP (here: this app's own POST /payments). The client carries the
        // request id and the trace headers on.
        services.AddHttpClient<PaymentsClient>((provider, client) =>
                client.BaseAddress = provider.GetRequiredService<SelfAddress>().PaymentsBaseAddress)
            .AddRequestContextPropagation();
    }

    public static void Configure(WebApplication app)
    {
        // Turns the request context on. Where it sits does not matter: the context begins when the server starts the
        // request, so every middleware (request logging, authentication) and hosting's own records see it.
        app.UseRequestContext();

        // One "HTTP GET /orders/1001 responded 200" line per request, in the request's context. It is told the host's
        // logger because the static Log.Logger is left alone (preserveStaticLogger above).
        app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<global::Serilog.ILogger>());
        app.UseAuthentication();
        app.UseAuthorization();

        app.MapGet("/orders/{id:int}", async (int id, OrderService orders, CancellationToken cancellationToken) =>
            TypedResults.Ok(await orders.PlaceOrderAsync(id, cancellationToken)));

        app.MapPost("/payments", PaymentsEndpoint.Authorize);

        // Order status, pushed over SignalR: each Track invocation has its own request id (see OrderStatusHub).
        app.MapHub<OrderStatusHub>("/hubs/orders");

        app.MapGet("/me", (ICurrentUser user, IRequestContext request) => TypedResults.Ok(new
        {
            user.Id,
            user.Name,
            IsCustomer = user.IsInRole("customer"),
            request.RequestId,
            request.TraceId,
        })).RequireAuthorization();

        if (app.Environment.IsDevelopment())
        {
            app.MapPost("/dev/token", DevTokenIssuer.Endpoint);
        }
    }

    private static void ConfigureLogging(IConfiguration configuration, IServiceProvider services, LoggerConfiguration logger)
    {
        var settings = configuration.GetSection(SectionName);

        logger.ReadFrom.Configuration(configuration)   // levels (and any sink) from the "Serilog" section
            .ReadFrom.Services(services)               // sinks registered as services (the demo's, the tests')
            .Enrich.WithRequestContext(options => options.OutsideRequestValue = "-");

        if (settings.GetValue("ConsoleLog", defaultValue: true))
        {
            logger.WriteTo.Console(outputTemplate: ConsoleTemplate);
        }

        // One JSON object per line, every property included: --Sample:JsonLogFile=logs/sample.json
        if (settings["JsonLogFile"] is { Length: > 0 } path)
        {
            logger.WriteTo.File(new CompactJsonFormatter(), path);
        }
    }
}
