using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// Nothing keeps a finished request alive: what work that outlives a request keeps (a copy of its context, its
/// user) must not hold the request's HttpContext; and running a context holds nothing of its caller's flow.
/// </summary>
public class RetentionTests
{
    [Fact]
    public async Task FinishedRequest_CapturedContextAndUser_DoNotKeepTheHttpContextAlive()
    {
        // Arrange
        var captured = new Captured();
        await using var app = await StartAsync(captured, capture: true);

        // Act: one authenticated request on a connection of its own, closed after the response.
        await SendOnAFreshConnectionAsync(app.BaseAddress, Jwt.CreateToken("user-retained", "Ada"));

        // Assert
        Assert.NotNull(captured.Context);
        Assert.True(await IsCollectedAsync(captured.HttpContext!), "the finished request's HttpContext is still alive");
        Assert.Equal("user-retained", captured.Context!.Run(() => RequestContext.User.Get().Id));
        Assert.Equal("user-retained", captured.User!.Id);
        Assert.Equal("Ada", captured.User.Name);
        Assert.True(captured.User.IsAuthenticated);
    }

    [Fact]
    public async Task FinishedRequest_NothingCaptured_HttpContextIsCollected()
    {
        // The control for the test above (passes today): the harness itself lets a finished request go.
        var captured = new Captured();
        await using var app = await StartAsync(captured, capture: false);

        await SendOnAFreshConnectionAsync(app.BaseAddress, Jwt.CreateToken("user-control", "Bob"));

        Assert.True(await IsCollectedAsync(captured.HttpContext!), "the HttpContext of a finished request is alive even with nothing captured");
    }

    [Fact]
    public async Task ContextRun_KeepsNoReferenceToItsCallersAsyncLocals()
    {
        // Arrange
        var local = new AsyncLocal<object?>();
        var someContext = new Context();

        // Act: from a flow of its own, set the local and run the context; then leave that flow.
        var value = await RunFromAFlowAsync(someContext, local);

        // Assert
        Assert.True(await IsCollectedAsync(value), "the caller's AsyncLocal value is still alive after Context.Run returned and its flow ended");
        GC.KeepAlive(someContext);
        GC.KeepAlive(local);
    }

    [Fact]
    public async Task CopiedContextRun_KeepsNoReferenceToItsCallersAsyncLocals()
    {
        var local = new AsyncLocal<object?>();
        var someContext = Context.CopyCurrent();

        var value = await RunFromAFlowAsync(someContext, local);

        Assert.True(await IsCollectedAsync(value), "the caller's AsyncLocal value is still alive after Context.Run returned and its flow ended");
        GC.KeepAlive(someContext);
        GC.KeepAlive(local);
    }

    private static async Task<WeakReference> RunFromAFlowAsync(Context context, AsyncLocal<object?> local)
    {
        await Task.Yield();
        var value = SetAndRun(context, local);
        await Task.Yield();
        return value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference SetAndRun(Context context, AsyncLocal<object?> local)
    {
        local.Value = new object();
        var weak = new WeakReference(local.Value);
        context.Run(() => { });
        return weak;
    }

    private static Task<TestApp> StartAsync(Captured captured, bool capture) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/retain", (HttpContext httpContext, ICurrentUser user) =>
                {
                    captured.HttpContext = new WeakReference(httpContext);
                    if (capture)
                    {
                        captured.Context = Context.CopyCurrent();
                        captured.User = RequestContext.User.Get();
                    }

                    return user.Id;
                });
            },
            Jwt.AddJwtBearer,
            kestrel: true);

    private static async Task SendOnAFreshConnectionAsync(Uri baseAddress, string token)
    {
        using var handler = new SocketsHttpHandler { ActivityHeadersPropagator = null, PooledConnectionLifetime = TimeSpan.Zero };
        using var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(20) };
        var request = new HttpRequestMessage(HttpMethod.Get, "/retain");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.ConnectionClose = true;
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsStringAsync();
    }

    private static async Task<bool> IsCollectedAsync(WeakReference weak)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            if (!weak.IsAlive)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private sealed class Captured
    {
        public WeakReference? HttpContext { get; set; }

        public Context? Context { get; set; }

        public ICurrentUser? User { get; set; }
    }
}
