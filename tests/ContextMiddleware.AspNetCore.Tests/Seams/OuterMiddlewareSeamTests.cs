using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Hosting;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probes: a request that middleware in front of ContextMiddleware's answers (middleware of a startup filter
/// registered before AddRequestContext(), such as the framework's host filtering) has a context begun by the hosting
/// hook, but never reaches the middleware that ends its user (HttpCall.End). Whatever that request's flow captured
/// then keeps the HttpContext, which Kestrel recycles for the next request on the connection.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class OuterMiddlewareSeamTests
{
    public sealed class Captured
    {
        public WeakReference? HttpContext { get; set; }

        public Context? Context { get; set; }

        public ICurrentUser? User { get; set; }

        public IncomingCallSource? Source { get; set; }

        public string? RequestId { get; set; }
    }

    /// <summary>A startup filter of an app or a library, registered before AddRequestContext(): its middleware runs first.</summary>
    private sealed class EarlyEndpointFilter(Captured captured) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map("/early", early => early.Run(async context =>
            {
                Capture(context);
                await context.Response.WriteAsync("early");
            }));
            next(app);
        };

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Capture(HttpContext context)
        {
            captured.HttpContext = new WeakReference(context);
            captured.Context = Context.CopyCurrent();
            captured.User = RequestContext.User.Get();
            captured.Source = IncomingCallSource.Current;
            captured.RequestId = RequestContext.RequestId.Get();
        }
    }

    public sealed record Who(string? OwnUser, string? CapturedUser, string? CapturedAuthorizationHeader);

    private static Task<TestApp> StartAsync(Captured captured) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/whoami", (ICurrentUser user) => new Who(
                    user.Id,
                    captured.User?.Id,
                    captured.Source?.GetHeader("Authorization").ToString()));
            },
            builder =>
            {
                builder.Services.Insert(0, ServiceDescriptor.Singleton<IStartupFilter>(new EarlyEndpointFilter(captured)));
                Jwt.AddJwtBearer(builder);
            },
            kestrel: true);

    [Fact]
    public async Task RequestAnsweredInFrontOfTheMiddleware_CapturedContext_DoesNotKeepTheHttpContextAlive()
    {
        var captured = new Captured();
        await using var app = await StartAsync(captured);

        using (var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null, PooledConnectionLifetime = TimeSpan.Zero })
        using (var client = new HttpClient(handler) { BaseAddress = app.BaseAddress })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/early");
            request.Headers.ConnectionClose = true;
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.NotNull(captured.RequestId); // the hosting hook did begin the request's context
        Assert.True(
            await SeamSupport.IsCollectedAsync(captured.HttpContext!),
            "the finished request's HttpContext is kept alive by a Context captured during the request (HttpCall.End never ran)");
        GC.KeepAlive(captured.Context);
    }

    [Fact]
    public async Task RequestAnsweredInFrontOfTheMiddleware_ItsCapturedUser_NeverSeesTheNextRequestOnTheConnection()
    {
        var captured = new Captured();
        await using var app = await StartAsync(captured);
        using var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null, MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = app.BaseAddress };

        // Request 1, anonymous, answered by the early middleware; work it started keeps its user.
        (await client.GetAsync("/early")).EnsureSuccessStatusCode();
        Assert.NotNull(captured.User);

        // Request 2 on the same keep-alive connection, authenticated as another user.
        var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        var token = Jwt.CreateToken("user-two", "Second");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var who = await (await client.SendAsync(request)).Content.ReadFromJsonAsync<Who>();

        Assert.Equal("user-two", who!.OwnUser);
        Assert.True(
            who.CapturedUser is null && string.IsNullOrEmpty(who.CapturedAuthorizationHeader),
            $"request 1 (anonymous), read during request 2 on the same connection: ICurrentUser.Id='{who.CapturedUser}', " +
            $"IncomingCallSource.GetHeader(\"Authorization\") has request 2's token: {who.CapturedAuthorizationHeader == "Bearer " + token}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HostFilteringRejection_CarriesTheRequestId(bool logging)
    {
        // WebApplication puts host filtering (a startup filter registered before AddRequestContext) in front.
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => "ok");
            },
            builder => builder.Configuration["AllowedHosts"] = "api.example.com",
            kestrel: true,
            collectLogs: logging);

        var response = await app.Client.GetAsync("/ok");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Request-ID"), $"logging={logging}: host filtering's 400 carries no X-Request-ID");
    }
}
