using System.Net.Http.Headers;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Hosting;

namespace ContextMiddleware.AspNetCore.Tests;

public class CurrentUserTests
{
    public enum AuthenticationOrder
    {
        Automatic,
        BeforeRequestContext,
        AfterRequestContext,
    }

    [Theory]
    [InlineData(AuthenticationOrder.Automatic)]
    [InlineData(AuthenticationOrder.BeforeRequestContext)]
    [InlineData(AuthenticationOrder.AfterRequestContext)]
    public async Task JwtUser_IsSeenEverywhere_WhateverTheMiddlewareOrder(AuthenticationOrder order)
    {
        await using var app = await StartAsync(order);

        var user = await GetUser(app, Jwt.CreateToken("user-42", "Alice", "admin"));

        Assert.Equal(new UserView(true, "user-42", "Alice", true, "user-42", "user-42", "user-42"), user);
    }

    [Theory]
    [InlineData(AuthenticationOrder.Automatic)]
    [InlineData(AuthenticationOrder.AfterRequestContext)]
    public async Task AnonymousRequest_IsAnonymousEverywhere(AuthenticationOrder order)
    {
        await using var app = await StartAsync(order);

        var user = await GetUser(app, token: null);

        Assert.Equal(new UserView(false, null, null, false, null, null, null), user);
    }

    [Fact]
    public async Task InvalidToken_IsAnonymous()
    {
        await using var app = await StartAsync(AuthenticationOrder.Automatic);

        var user = await GetUser(app, Jwt.CreateToken("user-42", "Alice") + "tampered");

        Assert.False(user.IsAuthenticated);
    }

    [Fact]
    public async Task Controller_GetsICurrentUserInjected()
    {
        await using var app = await StartAsync(AuthenticationOrder.AfterRequestContext);

        var request = new HttpRequestMessage(HttpMethod.Get, "/controller/user");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken("user-7", "Bob"));
        var body = await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal("user-7/Bob", body);
    }

    [Fact]
    public async Task HostedService_GetsICurrentUser_AnonymousOutsideRequests()
    {
        await using var app = await StartAsync(AuthenticationOrder.Automatic);

        var probe = app.App.Services.GetRequiredService<UserProbeService>();

        Assert.NotNull(probe.User);
        Assert.False(probe.User.IsAuthenticated);
        Assert.Null(probe.User.Id);
    }

    [Fact]
    public async Task ClaimTypes_AreConfigurable()
    {
        await using var app = await StartAsync(AuthenticationOrder.Automatic, options =>
        {
            options.UserIdClaimTypes.Add("name");
            options.UserNameClaimTypes.Add(System.Security.Claims.ClaimTypes.NameIdentifier); // JwtBearer maps "sub" to it
        });

        var user = await GetUser(app, Jwt.CreateToken("user-42", "Alice"));

        Assert.Equal("Alice", user.Id);
        Assert.Equal("user-42", user.Name);
    }

    private static async Task<TestApp> StartAsync(AuthenticationOrder order, Action<RequestContextOptions>? configure = null) =>
        await TestApp.StartAsync(
            app =>
            {
                if (order == AuthenticationOrder.BeforeRequestContext)
                {
                    app.UseAuthentication();
                }

                app.UseRequestContext();
                if (order == AuthenticationOrder.AfterRequestContext)
                {
                    app.UseAuthentication();
                }

                app.MapControllers();
                app.MapGet("/user", async (ICurrentUser injected, UserReader singleton) =>
                {
                    await Task.Yield();
                    var ambient = RequestContext.User.Get();
                    var fromTask = await Task.Run(() => RequestContext.User.Get().Id);
                    return new UserView(
                        injected.IsAuthenticated, injected.Id, injected.Name, injected.IsInRole("admin"),
                        ambient.Id, singleton.ReadId(), fromTask);
                });
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                builder.Services.AddRequestContext(configure);
                builder.Services.AddSingleton<UserReader>();
                builder.Services.AddSingleton<UserProbeService>();
                builder.Services.AddHostedService(provider => provider.GetRequiredService<UserProbeService>());
                builder.Services.AddControllers().AddApplicationPart(typeof(UserController).Assembly);
            });

    private static async Task<UserView> GetUser(TestApp app, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/user");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await app.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<UserView>())!;
    }

    public sealed record UserView(
        bool IsAuthenticated, string? Id, string? Name, bool IsAdmin, string? AmbientId, string? SingletonId, string? TaskId);

    /// <summary>A singleton that reads the user of whichever request calls it.</summary>
    public sealed class UserReader(ICurrentUser user)
    {
        public string? ReadId() => user.Id;
    }

    /// <summary>A hosted service with ICurrentUser injected.</summary>
    public sealed class UserProbeService(ICurrentUser user) : BackgroundService
    {
        public ICurrentUser User { get; } = user;

        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.CompletedTask;
    }
}

[ApiController]
[Route("controller")]
public sealed class UserController(ICurrentUser user) : ControllerBase
{
    [HttpGet("user")]
    public string Get() => $"{user.Id}/{user.Name}";
}
