using System.Net.Http.Headers;
using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using ILogger = Microsoft.Extensions.Logging.ILogger;
using Serilog;
using Serilog.Events;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.Serilog.Tests;

/// <summary>
/// Serilog's real output, parsed back: the events a request writes carry that request's ids, whatever the depth,
/// the task or the logging API they were written through.
/// </summary>
public class EnricherTests
{
    private const int Requests = 500;
    private const int EventsPerRequest = OrderScenario.HandlerEvents + 1; // and the request log's completion event

    [Fact]
    public async Task FiveHundredConcurrentRequests_EveryEventCarriesItsOwnRequestsIds()
    {
        var output = new SerilogOutput();
        await using var factory = CreateFactory(output, (_, logger) => logger.Enrich.WithRequestContext());
        var client = factory.CreateClient();

        var responses = await OrderScenario.SendAsync(client, Requests);

        // The handler's events and the request logging middleware's completion events. Hosting's own "Request
        // starting/finished" lines are written before and after every middleware, so outside the request's context.
        var events = output.Events().Where(e => Property(e, "Order") is not null || IsCompletion(e)).ToList();
        var mismatches = new List<string>();
        foreach (var (i, trace) in responses)
        {
            var own = events.Where(e => Property(e, "Order") == i.ToString() || (IsCompletion(e) && Property(e, "RequestPath") == $"/orders/{i}")).ToList();
            if (own.Count != EventsPerRequest)
            {
                mismatches.Add($"request {i}: {own.Count} events");
            }

            foreach (var e in own)
            {
                var expectedUser = OrderScenario.UserOf(i);
                if (Property(e, "RequestId") != $"req-{i}" || Property(e, "TraceId") != trace[0] || Property(e, "SpanId") != trace[1] ||
                    Property(e, "UserId") != expectedUser || Property(e, "@tr") != trace[0] || Property(e, "@sp") != trace[1])
                {
                    mismatches.Add($"request {i}: {e}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches, first: {string.Join('\n', mismatches.Take(5))}");
        Assert.Equal(Requests * EventsPerRequest, events.Count);
    }

    [Fact]
    public async Task RequestLoggingCompletionEvent_CarriesTheHandlersIds()
    {
        var output = new SerilogOutput();
        await using var factory = CreateFactory(output, (_, logger) => logger.Enrich.WithRequestContext());
        var request = new HttpRequestMessage(HttpMethod.Get, "/orders/7");
        request.Headers.Add("X-Request-ID", "req-completion");
        (await factory.CreateClient().SendAsync(request)).EnsureSuccessStatusCode();

        var events = output.Events();
        var completion = Assert.Single(events, e => IsCompletion(e) && Property(e, "RequestPath") == "/orders/7");
        var handler = events.First(e => Property(e, "Depth") == "0");

        Assert.StartsWith("HTTP {RequestMethod} {RequestPath} responded {StatusCode}", Property(completion, "@mt"), StringComparison.Ordinal);
        foreach (var name in new[] { "RequestId", "TraceId", "SpanId", "@tr", "@sp" })
        {
            Assert.Equal(Property(handler, name), Property(completion, name));
        }
    }

    [Fact]
    public async Task FromConfiguration_EnrichWithRequestContext()
    {
        var output = new SerilogOutput();
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream("""
                { "Serilog": { "Using": [ "ContextMiddleware.Serilog" ], "Enrich": [ "WithRequestContext" ] } }
                """u8.ToArray()))
            .Build();
        await using var factory = CreateFactory(output, (_, logger) => logger.ReadFrom.Configuration(configuration));
        var request = new HttpRequestMessage(HttpMethod.Get, "/orders/1");
        request.Headers.Add("X-Request-ID", "req-config");
        (await factory.CreateClient().SendAsync(request)).EnsureSuccessStatusCode();

        var handlerEvents = output.Events().Where(e => Property(e, "Order") == "1").ToList();
        Assert.Equal(5, handlerEvents.Count);
        Assert.All(handlerEvents, e => Assert.Equal("req-config", Property(e, "RequestId")));
        Assert.All(handlerEvents, e => Assert.Equal(Property(e, "@tr"), Property(e, "TraceId")));
    }

    [Fact]
    public async Task Options_RenameRemoveAndPlaceholderOutsideRequests()
    {
        var output = new SerilogOutput();
        await using var factory = CreateFactory(output, (_, logger) => logger.Enrich.WithRequestContext(options =>
        {
            options.RequestIdPropertyName = "CorrelationId";
            options.SpanIdPropertyName = null;
            options.UserNamePropertyName = "";
            options.OutsideRequestValue = "no-trace";
        }));
        var request = new HttpRequestMessage(HttpMethod.Get, "/orders/3");
        request.Headers.Add("X-Request-ID", "req-renamed");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken("user-3", "User 3"));
        (await factory.CreateClient().SendAsync(request)).EnsureSuccessStatusCode();
        factory.Services.GetRequiredService<ILogger<EnricherTests>>().LogInformation("Outside any request");

        var inRequest = output.Events().First(e => Property(e, "Depth") == "0");
        Assert.Equal("req-renamed", Property(inRequest, "CorrelationId"));
        // Hosting's own scope still uses the name, and it holds the same id: the request id is the TraceIdentifier.
        Assert.Equal("req-renamed", Property(inRequest, "RequestId"));
        Assert.Null(Property(inRequest, "SpanId"));
        Assert.Null(Property(inRequest, "UserName"));
        Assert.Equal("user-3", Property(inRequest, "UserId"));

        var outside = Assert.Single(output.Events(), e => Property(e, "@mt") == "Outside any request");
        Assert.Equal("no-trace", Property(outside, "CorrelationId"));
        Assert.Equal("no-trace", Property(outside, "TraceId"));
        Assert.Null(Property(outside, "UserId"));
    }

    [Fact]
    public async Task OutsideRequest_PropertiesAreAbsentByDefault()
    {
        var output = new SerilogOutput();
        using var logger = new LoggerConfiguration().Enrich.WithRequestContext().WriteTo.Sink(output.Sink).CreateLogger();

        logger.Information("Startup");

        var e = Assert.Single(output.Events());
        Assert.Null(Property(e, "RequestId"));
        Assert.Null(Property(e, "TraceId"));
    }

    [Fact]
    public async Task FromContextVar_TurnsAnyVariableIntoAProperty()
    {
        var tenant = new ContextVar<string?>("tenant", null);
        var attempt = new ContextVar<int>("attempt");
        var output = new SerilogOutput();
        using var logger = new LoggerConfiguration()
            .Enrich.FromContextVar(tenant, "TenantId")
            .Enrich.FromContextVar(attempt, "Attempt")
            .WriteTo.Sink(output.Sink)
            .CreateLogger();

        logger.Information("Before");
        await Task.WhenAll(
            Task.Run(async () =>
            {
                tenant.Set("acme");
                attempt.Set(1);
                await Task.Yield();
                logger.Information("Acme's work");
            }),
            Task.Run(async () =>
            {
                tenant.Set("globex");
                attempt.Set(2);
                await Task.Yield();
                logger.Information("Globex's work");
            }));

        var events = output.Events();
        var before = events.Single(e => Property(e, "@mt") == "Before");
        Assert.Null(Property(before, "TenantId"));
        Assert.Null(Property(before, "Attempt"));
        Assert.Equal("acme", Property(events.Single(e => Property(e, "@mt") == "Acme's work"), "TenantId"));
        Assert.Equal("1", Property(events.Single(e => Property(e, "@mt") == "Acme's work"), "Attempt"));
        Assert.Equal("globex", Property(events.Single(e => Property(e, "@mt") == "Globex's work"), "TenantId"));
        Assert.Equal("2", Property(events.Single(e => Property(e, "@mt") == "Globex's work"), "Attempt"));
    }

    [Fact]
    public void EventsOfOneRequest_ShareTheSameProperties()
    {
        var captured = new List<LogEvent>();
        using var logger = new LoggerConfiguration().Enrich.WithRequestContext().WriteTo.Sink(new Capture(captured)).CreateLogger();
        var trace = new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, true, null);

        var context = new Context();
        context.Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, trace);
            logger.Information("one");
            logger.Information("two");
        });

        Assert.Equal(2, captured.Count);
        foreach (var name in new[] { "RequestId", "TraceId", "SpanId" })
        {
            // The same LogEventProperty value objects: nothing was made for the second event.
            Assert.Same(captured[0].Properties[name], captured[1].Properties[name]);
        }
    }

    [Fact]
    public void TextTemplate_TraceIdTokenIsTheEventsActivity_ARenamedPropertyShowsTheContextsTraceWithoutOne()
    {
        // A message consumer: the context was extracted from a message and is run without any Activity.
        var captured = new List<LogEvent>();
        using var logger = new LoggerConfiguration()
            .Enrich.WithRequestContext(options => options.TraceIdPropertyName = "RequestTraceId")
            .WriteTo.Sink(new Capture(captured))
            .CreateLogger();
        var trace = new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, sampled: true, null);
        var context = new Context();
        context.Run(() =>
        {
            RequestContext.RequestId.Set("msg-1");
            RequestContext.Trace.Set(trace);
            Assert.Null(System.Diagnostics.Activity.Current);
            logger.Information("Handling a message");
        });
        var rendered = new StringWriter();

        new global::Serilog.Formatting.Display.MessageTemplateTextFormatter("{RequestId}|{TraceId}|{RequestTraceId}")
            .Format(Assert.Single(captured), rendered);

        // Serilog 4 renders {TraceId} from the event's own trace id (its Activity), never from a property.
        Assert.Equal("msg-1||4bf92f3577b34da6a3ce929d0e0e4736", rendered.ToString());
    }

    [Fact]
    public void Arguments_AreChecked()
    {
        var configuration = new LoggerConfiguration();
        Assert.Throws<ArgumentNullException>(() => configuration.Enrich.FromContextVar<string>(null!, "x"));
        Assert.Throws<ArgumentException>(() => configuration.Enrich.FromContextVar(new ContextVar<string>("v"), " "));
    }

    private static bool IsCompletion(JsonElement logEvent) =>
        Property(logEvent, "SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware";

    private static TestAppFactory CreateFactory(SerilogOutput output, Func<IServiceProvider, LoggerConfiguration, LoggerConfiguration> configure) =>
        new(
            app =>
            {
                app.UseRequestContext();
                app.UseSerilogRequestLogging();
                app.UseAuthentication();
                app.UseRouting();
                app.UseEndpoints(OrderScenario.MapOrders);
            },
            services =>
            {
                services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
                    .AddJwtBearer(options => options.TokenValidationParameters = Jwt.ValidationParameters);
                services.AddSerilog((provider, logger) =>
                    configure(provider, logger).MinimumLevel.Information().WriteTo.Sink(output.Sink));
            });

    private sealed class Capture(List<LogEvent> events) : global::Serilog.Core.ILogEventSink
    {
        public void Emit(LogEvent logEvent) => events.Add(logEvent);
    }
}
