using System.Net.Http.Headers;
using System.Net.Http.Json;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>Nothing crosses from one request to another: sequential on one connection, or interleaved by thousands.</summary>
public class IsolationTests
{
    [Fact]
    public async Task SequentialRequestsOnOneKeepAliveConnection_EachSeeOnlyTheirOwnValues()
    {
        await using var app = await StartAsync(kestrel: true);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1 };
        using var client = new HttpClient(handler) { BaseAddress = app.BaseAddress };

        for (var i = 0; i < 300; i++)
        {
            // Every other request sends no id: a value left over from the previous request would show up there.
            var sent = i % 2 == 0 ? $"seq-{i}" : null;
            var view = await Get(client, sent, token: i % 3 == 0 ? Jwt.CreateToken($"user-{i}", "n") : null);

            AssertOwn(view, sent, i % 3 == 0 ? $"user-{i}" : null);
        }
    }

    [Theory]
    [InlineData(false, 2000)]
    [InlineData(true, 2000)]
    public async Task ThousandsOfInterleavedRequests_NeverSeeAnotherRequestsValues(bool kestrel, int requests)
    {
        await using var app = await StartAsync(kestrel);
        var client = app.Client;
        using var gate = new SemaphoreSlim(64);

        var views = await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var sent = $"conc-{i}";
                return (i, view: await Get(client, sent, token: i % 4 == 0 ? Jwt.CreateToken($"user-{i}", "n") : null));
            }
            finally
            {
                gate.Release();
            }
        }));

        foreach (var (i, view) in views)
        {
            AssertOwn(view, $"conc-{i}", i % 4 == 0 ? $"user-{i}" : null);
        }

        Assert.Equal(requests, views.Select(result => result.view.TraceId).Distinct().Count());
    }

    [Fact]
    public async Task ThousandsOfInterleavedRequestsThroughWebApplicationFactory_NeverSeeAnotherRequestsValues()
    {
        await using var factory = new TestAppFactory(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.UseRouting();
                app.UseEndpoints(endpoints => endpoints.MapGet("/view", async () =>
                {
                    var seen = new List<string?> { RequestContext.RequestId.Get() };
                    await Task.Yield();
                    seen.Add(await Task.Run(() => RequestContext.RequestId.Get()));
                    seen.Add(await Nested());
                    return View.Current("view", seen: seen, traces: [RequestContext.Trace.Get()?.TraceId]);
                }));
            },
            services => services.AddAuthentication(Microsoft.AspNetCore.Authentication.JwtBearer.JwtBearerDefaults.AuthenticationScheme)
                .AddJwtBearer(options => options.TokenValidationParameters = Jwt.ValidationParameters));
        var client = factory.CreateClient();

        var views = await Task.WhenAll(Enumerable.Range(0, 2000).Select(async i =>
            (i, view: await Get(client, $"waf-{i}", token: i % 4 == 0 ? Jwt.CreateToken($"user-{i}", "n") : null))));

        foreach (var (i, view) in views)
        {
            AssertOwn(view, $"waf-{i}", i % 4 == 0 ? $"user-{i}" : null);
        }
    }

    [Fact]
    public async Task WorkOutlivingTheRequest_KeepsItsRequestsValues()
    {
        var results = new System.Collections.Concurrent.ConcurrentDictionary<string, Task<View>>();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(kestrel: true, extra: app => app.MapGet("/later", (HttpContext http) =>
        {
            // Started in the handler, awaited after the response has been sent.
            results[http.TraceIdentifier] = Task.Run(async () =>
            {
                await release.Task;
                await Task.Delay(10);
                return View.Current(stage: "later");
            });
            return Results.Ok();
        }));

        var sent = Enumerable.Range(0, 100).Select(i => $"later-{i}").ToArray();
        var tokens = sent.Select((id, i) => i % 2 == 0 ? Jwt.CreateToken($"user-{id}", "n") : null).ToArray();
        await Task.WhenAll(sent.Select(async (id, i) =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/later");
            request.Headers.Add("X-Request-ID", id);
            if (tokens[i] is { } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        }));

        release.SetResult(); // every response has been sent and every HttpContext may be recycled
        for (var i = 0; i < sent.Length; i++)
        {
            var view = await results[sent[i]];
            AssertOwn(view, sent[i], i % 2 == 0 ? $"user-{sent[i]}" : null);
            Assert.Matches("^[0-9a-f]{32}$", view.TraceId);
        }
    }

    internal static void AssertOwn(View view, string? sent, string? userId)
    {
        if (sent is null)
        {
            Assert.Matches(RequestIdTests.GeneratedId(), view.RequestId);
        }
        else
        {
            Assert.Equal(sent, view.RequestId);
        }

        Assert.Equal(view.RequestId, view.TraceIdentifier ?? view.RequestId);
        Assert.All(view.Seen, seen => Assert.Equal(view.RequestId, seen));
        Assert.Equal(userId, view.UserId);
        Assert.All(view.SeenTraceIds, seen => Assert.Equal(view.TraceId, seen));
    }

    private static Task<TestApp> StartAsync(bool kestrel, Action<WebApplication>? extra = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/view", async (HttpContext http) =>
                {
                    var seen = new List<string?> { RequestContext.RequestId.Get() };
                    var traces = new List<string?> { RequestContext.Trace.Get()?.TraceId };
                    await Task.Yield();
                    seen.Add(RequestContext.RequestId.Get());
                    await Task.Delay(Random.Shared.Next(3));
                    seen.Add(RequestContext.RequestId.Get());
                    var children = await Task.WhenAll(Task.Run(() => RequestContext.RequestId.Get()), Nested());
                    seen.AddRange(children);
                    traces.Add(RequestContext.Trace.Get()?.TraceId);
                    return View.Current("view", http.TraceIdentifier, seen, traces);
                });
                extra?.Invoke(app);
            },
            Jwt.AddJwtBearer,
            kestrel);

    private static async Task<string?> Nested()
    {
        await Task.Yield();
        return RequestContext.RequestId.Get();
    }

    private static async Task<View> Get(HttpClient client, string? requestId, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/view");
        if (requestId is not null)
        {
            request.Headers.Add("X-Request-ID", requestId);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var view = (await response.Content.ReadFromJsonAsync<View>())!;
        Assert.Equal(view.RequestId, response.Headers.GetValues("X-Request-ID").Single());
        return view;
    }

    public sealed record View(
        string Stage, string? RequestId, string? TraceIdentifier, string? TraceId, string? UserId,
        IReadOnlyList<string?> Seen, IReadOnlyList<string?> SeenTraceIds)
    {
        public static View Current(string stage, string? traceIdentifier = null, IReadOnlyList<string?>? seen = null, IReadOnlyList<string?>? traces = null) =>
            new(stage, RequestContext.RequestId.Get(), traceIdentifier, RequestContext.Trace.Get()?.TraceId,
                RequestContext.User.Get().Id, seen ?? [], traces ?? []);
    }
}
