using ContextMiddleware.AspNetCore;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Testing;

/// <summary>
/// The logging tests' scenario: <c>GET /orders/{order}</c> logs at three async depths below the handler and from a
/// <c>Task.Run</c> child, without being passed any id; many such requests are sent at once, each with its own
/// X-Request-ID (<c>req-{i}</c>), every fifth one authenticated as <c>user-{i}</c> with a real JWT.
/// </summary>
public static class OrderScenario
{
    /// <summary>The events the handler writes per request: depths 0 to 3, and the child task's.</summary>
    public const int HandlerEvents = 5;

    /// <summary>Maps the endpoint; it answers with the request's trace id and span id.</summary>
    public static void MapOrders(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/orders/{order:int}", async (int order, ILoggerFactory loggers) =>
        {
            var logger = loggers.CreateLogger("Orders");
            logger.LogInformation("Depth {Depth} for {Order}", 0, order);
            await Depth(logger, order, 1);
            await Task.Run(() => logger.LogInformation("Child task for {Order}", order));
            var trace = RequestContext.Trace.Get()!;
            return new[] { trace.TraceId, trace.SpanId };
        });

    /// <summary>The user request <paramref name="index"/> is authenticated as, or null.</summary>
    public static string? UserOf(int index) => index % 5 == 0 ? $"user-{index}" : null;

    /// <summary>Sends <paramref name="count"/> concurrent requests; returns each one's trace id and span id.</summary>
    public static async Task<(int Index, string[] Trace)[]> SendAsync(HttpClient client, int count) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, $"/orders/{i}");
            request.Headers.Add("X-Request-ID", $"req-{i}");
            if (UserOf(i) is { } user)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken(user, $"User {i}"));
            }

            var response = await client.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return (i, JsonSerializer.Deserialize<string[]>(await response.Content.ReadAsStringAsync())!);
        }));

    private static async Task Depth(ILogger logger, int order, int depth)
    {
        await Task.Yield();
        logger.LogInformation("Depth {Depth} for {Order}", depth, order);
        if (depth < 3)
        {
            await Depth(logger, order, depth + 1);
        }
    }
}
