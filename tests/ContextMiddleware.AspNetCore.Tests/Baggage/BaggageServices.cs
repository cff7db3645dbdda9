using System.Diagnostics;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace ContextMiddleware.AspNetCore.Tests.Baggage;

/// <summary>The tenant of a request: the app's own variable, carried between services as the baggage member <c>tenant</c>.</summary>
public static class Tenant
{
    public static readonly ContextVar<string?> Current = new("Tenant", null);
}

/// <summary>What one service saw of a request, and what the next service saw of its call.</summary>
public sealed record HopView(
    string Service,
    string RequestId,
    string? Tenant,
    string? BaggageHeader,
    string ActivityBaggage,
    HopView? Next);

/// <summary>Services over Kestrel on 127.0.0.1 with a /hop endpoint that reports the tenant and calls the next service.</summary>
public static class BaggageServices
{
    public static Task<TestApp> StartAsync(
        string name,
        Uri? next = null,
        Action<RequestContextOptions>? configure = null,
        Action<WebApplicationBuilder>? builder = null,
        bool registerTenant = true) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/hop", async (HttpContext context, IHttpClientFactory factory, ILoggerFactory loggers, string? set) =>
                {
                    if (set is not null)
                    {
                        Tenant.Current.Set(set);
                    }

                    loggers.CreateLogger("Hop").LogInformation("Hop at {Service}", name);
                    var next = context.RequestServices.GetService<NextService>() is { } downstream
                        ? await factory.CreateClient("next").GetFromJsonAsync<HopView>(downstream.Path)
                        : null;
                    return new HopView(
                        name,
                        RequestContext.RequestId.Get()!,
                        Tenant.Current.Get(),
                        context.Request.Headers["baggage"] is { Count: > 0 } baggage ? baggage.ToString() : null,
                        string.Join(",", Activity.Current?.Baggage.Select(item => $"{item.Key}={item.Value}") ?? []),
                        next);
                });
            },
            b =>
            {
                b.Services.AddRequestContext(options =>
                {
                    if (registerTenant)
                    {
                        options.Baggage.Add(Tenant.Current, "tenant", v => v.Pattern = "^[a-z0-9-]{1,32}$");
                    }

                    configure?.Invoke(options);
                });
                b.Services.AddHttpClient();
                if (next is not null)
                {
                    b.Services.AddSingleton(new NextService(next.PathAndQuery == "/" ? "hop" : next.PathAndQuery.TrimStart('/')));
                    b.Services.AddHttpClient("next", client => client.BaseAddress = new Uri(next.GetLeftPart(UriPartial.Authority))).AddRequestContextPropagation();
                }

                builder?.Invoke(b);
            },
            kestrel: true);

    public sealed record NextService(string Path);

    /// <summary>A GET request with the given <c>baggage</c> and <c>traceparent</c> headers (none when null).</summary>
    public static HttpRequestMessage Request(string path, string? baggage = null, string? traceParent = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (baggage is not null)
        {
            request.Headers.TryAddWithoutValidation("baggage", baggage);
        }

        if (traceParent is not null)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        }

        return request;
    }

    /// <summary>
    /// A service whose <c>/call</c> makes one outgoing call (<paramref name="call"/>, by default a GET of <c>/next</c>)
    /// through an HttpClient with <c>AddRequestContextPropagation()</c> to <paramref name="next"/>, with the tenant
    /// registered, OpenTelemetry's ASP.NET Core and HttpClient instrumentation on when asked.
    /// </summary>
    public static Task<TestApp> StartCallerAsync(
        Uri next,
        Action<RequestContextOptions>? configure = null,
        Func<HttpClient, Task>? call = null,
        bool openTelemetry = false) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    var client = factory.CreateClient("next");
                    await (call ?? (static client => client.GetAsync("/next")))(client);
                    return "ok";
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options =>
                {
                    options.Baggage.Add(Tenant.Current, "tenant");
                    configure?.Invoke(options);
                });
                if (openTelemetry)
                {
                    builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation());
                }

                builder.Services.AddHttpClient("next", client => client.BaseAddress = next).AddRequestContextPropagation();
            },
            kestrel: true);
}
