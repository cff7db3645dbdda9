using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Tests;

public partial class RequestIdTests
{
    [GeneratedRegex("^[0-9a-f]{32}$")]
    internal static partial Regex GeneratedId();

    internal static void MapEcho(WebApplication app) =>
        app.MapGet("/echo", async (HttpContext http, IRequestContext injected) =>
        {
            await Task.Yield();
            return new Echo(
                RequestContext.RequestId.Get(), RequestContext.ClientRequestId.Get(), http.TraceIdentifier,
                injected.RequestId, injected.ClientRequestId, injected.TraceId, injected.SpanId);
        });

    internal static Task<TestApp> StartEchoAppAsync(Action<RequestContextOptions>? configure = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                MapEcho(app);
            },
            builder => builder.Services.AddRequestContext(configure));

    [Fact]
    public async Task Request_NoIncomingId_GetsAFreshIdEverywhere()
    {
        await using var app = await StartEchoAppAsync();

        var response = await app.Client.GetAsync("/echo");
        var echo = await response.Content.ReadFromJsonAsync<Echo>();

        var id = Assert.Single(response.Headers.GetValues("X-Request-ID"));
        Assert.Matches(GeneratedId(), id);
        Assert.Equal(id, echo!.Ambient);
        Assert.Equal(id, echo.TraceIdentifier);
        Assert.Equal(id, echo.Injected);
        Assert.Null(echo.ClientRequestId);
        Assert.Matches("^[0-9a-f]{32}$", echo.TraceId);
        Assert.Matches("^[0-9a-f]{16}$", echo.SpanId);
    }

    [Fact]
    public async Task Request_StartingANewTrace_TakesItsTraceIdAsRequestId_ButNotWhenJoiningOne()
    {
        await using var app = await StartEchoAppAsync();

        var root = await app.Client.GetFromJsonAsync<Echo>("/echo");
        var request = new HttpRequestMessage(HttpMethod.Get, "/echo");
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        var joined = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Echo>();

        Assert.Equal(root!.TraceId, root.Ambient);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", joined!.TraceId);
        Assert.Matches(GeneratedId(), joined.Ambient);
        Assert.NotEqual(joined.TraceId, joined.Ambient);
    }

    [Fact]
    public async Task Request_ValidIncomingId_IsUsedAndEchoed()
    {
        await using var app = await StartEchoAppAsync();

        var response = await Send(app, "/echo", ("X-Request-ID", "req-123:abc/DEF+=@_."));
        var echo = await response.Content.ReadFromJsonAsync<Echo>();

        Assert.Equal("req-123:abc/DEF+=@_.", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        Assert.Equal("req-123:abc/DEF+=@_.", echo!.Ambient);
        Assert.Equal("req-123:abc/DEF+=@_.", echo.TraceIdentifier);
    }

    [Fact]
    public async Task Request_FreshIds_AreUnique()
    {
        await using var app = await StartEchoAppAsync();

        var ids = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
            (await app.Client.GetAsync("/echo")).Headers.GetValues("X-Request-ID").Single()));

        Assert.Equal(200, ids.Distinct().Count());
    }

    [Fact]
    public async Task Request_AlternativeHeaders_AreReadInOrderOfPreference()
    {
        await using var app = await StartEchoAppAsync(options =>
        {
            options.RequestIdHeaders.Add("X-Request-ID");
            options.RequestIdHeaders.Add("X-Correlation-ID");
        });

        var correlationOnly = await (await Send(app, "/echo", ("X-Correlation-ID", "corr-1"))).Content.ReadFromJsonAsync<Echo>();
        var both = await (await Send(app, "/echo", ("X-Correlation-ID", "corr-2"), ("X-Request-ID", "req-2"))).Content.ReadFromJsonAsync<Echo>();

        Assert.Equal("corr-1", correlationOnly!.Ambient);
        Assert.Equal("req-2", both!.Ambient);
    }

    [Theory]
    [InlineData("has space", "characters")]
    [InlineData("semi;colon", "characters")]
    public async Task Request_InvalidIncomingId_IsReplaced_AndLoggedWithoutTheValue(string value, string reason)
    {
        await using var app = await StartEchoAppAsync();

        var response = await Send(app, "/echo", ("X-Request-ID", value));
        var echo = await response.Content.ReadFromJsonAsync<Echo>();

        Assert.Matches(GeneratedId(), echo!.Ambient);
        var warning = Assert.Single(app.Logs.Records, record => record.EventId.Name == "InvalidRequestId");
        Assert.Contains(reason, warning.Message, StringComparison.Ordinal);
        if (value.Length > 0)
        {
            Assert.DoesNotContain(value, warning.AllText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Request_InvalidButSafeId_IsKeptAsClientRequestId()
    {
        await using var app = await StartEchoAppAsync();

        var echo = await (await Send(app, "/echo", ("X-Request-ID", "semi;colon"))).Content.ReadFromJsonAsync<Echo>();

        Assert.Equal("semi;colon", echo!.ClientRequestId);
        Assert.Equal("semi;colon", echo.InjectedClientRequestId);
        Assert.Matches(GeneratedId(), echo.Ambient);
    }

    [Fact]
    public async Task Request_TooLongId_IsReplaced_AndNotKept()
    {
        await using var app = await StartEchoAppAsync(options => options.MaxRequestIdLength = 16);

        var echo = await (await Send(app, "/echo", ("X-Request-ID", new string('a', 17)))).Content.ReadFromJsonAsync<Echo>();
        var exact = await (await Send(app, "/echo", ("X-Request-ID", new string('b', 16)))).Content.ReadFromJsonAsync<Echo>();

        Assert.Matches(GeneratedId(), echo!.Ambient);
        Assert.Null(echo.ClientRequestId);
        Assert.Equal(new string('b', 16), exact!.Ambient);
    }

    [Fact]
    public async Task Request_IgnoreMode_AlwaysGenerates_AndKeepsTheClientsId()
    {
        await using var app = await StartEchoAppAsync(options => options.IncomingRequestIds = RequestContextTrust.Ignore);

        var echo = await (await Send(app, "/echo", ("X-Request-ID", "client-42"))).Content.ReadFromJsonAsync<Echo>();

        Assert.Matches(GeneratedId(), echo!.Ambient);
        Assert.Equal("client-42", echo.ClientRequestId);
        Assert.Contains(app.Logs.Records, record => record.EventId.Name == "UntrustedRequestId");
    }

    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("::ffff:10.1.2.3", true)]
    [InlineData("192.0.2.7", true)]
    [InlineData("192.0.2.8", false)]
    [InlineData("203.0.113.9", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData(null, false)]
    public async Task Request_TrustedNetworksMode_TrustsOnlyThoseNetworks(string? remoteAddress, bool trusted)
    {
        await using var app = await StartEchoAppAsync(options =>
        {
            options.IncomingRequestIds = RequestContextTrust.TrustedNetworks;
            options.TrustedNetworks.Add("10.0.0.0/8");
            options.TrustedNetworks.Add("192.0.2.7");
        });

        var context = await app.Server.SendAsync(http =>
        {
            http.Request.Path = "/echo";
            http.Request.Headers["X-Request-ID"] = "from-caller";
            http.Connection.RemoteIpAddress = remoteAddress is null ? null : IPAddress.Parse(remoteAddress);
        });

        var id = context.Response.Headers["X-Request-ID"].ToString();
        if (trusted)
        {
            Assert.Equal("from-caller", id);
        }
        else
        {
            Assert.Matches(GeneratedId(), id);
        }
    }

    [Fact]
    public async Task Request_RejectMode_Answers400ProblemDetailsWithAFreshId()
    {
        await using var app = await StartEchoAppAsync(options => options.RejectInvalidRequestIds = true);

        var response = await Send(app, "/echo", ("X-Request-ID", "bad value"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var id = Assert.Single(response.Headers.GetValues("X-Request-ID"));
        Assert.Matches(GeneratedId(), id);
        Assert.Equal(id, problem.GetProperty("requestId").GetString());
        Assert.Equal("Invalid request id", problem.GetProperty("title").GetString());
        Assert.DoesNotContain("bad value", problem.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await Send(app, "/echo", ("X-Request-ID", "good-value"))).StatusCode);
    }

    [Fact]
    public async Task Request_CustomGenerator_IsUsed_AndAnInvalidOneFallsBack()
    {
        var next = "custom-1";
        await using var app = await StartEchoAppAsync(options => options.RequestIdGenerator = () => next);

        var custom = (await app.Client.GetAsync("/echo")).Headers.GetValues("X-Request-ID").Single();
        next = "not valid!";
        var fallback = (await app.Client.GetAsync("/echo")).Headers.GetValues("X-Request-ID").Single();

        Assert.Equal("custom-1", custom);
        Assert.Matches(GeneratedId(), fallback);
        Assert.Contains(app.Logs.Records, record => record.EventId.Name == "InvalidGeneratedRequestId");
    }

    [Fact]
    public async Task ProblemDetails_ProducedByTheApp_CarryTheRequestId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/problem", () => Results.Problem("it went wrong", statusCode: 409));
            },
            builder => builder.Services.AddProblemDetails());

        var response = await Send(app, "/problem", ("X-Request-ID", "req-pd"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("req-pd", problem.GetProperty("requestId").GetString());
        Assert.Equal("req-pd", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Fact]
    public async Task Options_BindFromConfiguration()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                MapEcho(app);
            },
            builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RequestContext:RequestIdHeaders:0"] = "X-Correlation-ID",
                ["RequestContext:ResponseHeader"] = "X-Correlation-ID",
                ["RequestContext:MaxRequestIdLength"] = "8",
            }));

        var response = await Send(app, "/echo", ("X-Correlation-ID", "corr-123"));
        var tooLong = await Send(app, "/echo", ("X-Correlation-ID", "corr-1234"));

        Assert.Equal("corr-123", Assert.Single(response.Headers.GetValues("X-Correlation-ID")));
        Assert.False(response.Headers.Contains("X-Request-ID"));
        Assert.Matches(GeneratedId(), tooLong.Headers.GetValues("X-Correlation-ID").Single());
        var options = app.App.Services.GetRequiredService<IOptions<RequestContextOptions>>().Value;
        Assert.Equal(["X-Correlation-ID"], options.RequestIdHeaders);
    }

    [Fact]
    public async Task Options_Invalid_FailAtStartupWithClearMessages()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            app => app.UseRequestContext(),
            builder => builder.Services.AddRequestContext(options =>
            {
                options.MaxRequestIdLength = 0;
                options.RequestIdHeaders.Add("Bad Header");
                options.IncomingRequestIds = RequestContextTrust.TrustedNetworks;
                options.PropagationAllowedHosts.Add("not a host");
            })));

        Assert.Contains("RequestContext:MaxRequestIdLength must be between 1 and 1024", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequestContext:RequestIdHeaders has 'Bad Header'", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequestContext:TrustedNetworks is empty", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequestContext:PropagationAllowedHosts has 'not a host'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_IncomingTraceContext_BindsFromConfiguration_AndIsValidated()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            app => app.UseRequestContext(),
            builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RequestContext:IncomingTraceContext"] = "TrustedNetworks",
            })));
        Assert.Contains("RequestContext:IncomingTraceContext is TrustedNetworks, but RequestContext:TrustedNetworks is empty", error.Message, StringComparison.Ordinal);

        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/trace", () => RequestContext.Trace.Get()!.TraceId);
            },
            builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RequestContext:IncomingTraceContext"] = "Ignore",
                ["RequestContext:TraceResponse"] = "true",
            }));
        var response = await Send(app, "/trace", ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), ("X-Request-ID", "kept"));

        Assert.NotEqual("4bf92f3577b34da6a3ce929d0e0e4736", await response.Content.ReadAsStringAsync());
        Assert.Equal("kept", response.Headers.GetValues("X-Request-ID").Single()); // request ids still trusted
        Assert.True(response.Headers.Contains("traceresponse"));
    }

    [Fact]
    public void UseRequestContext_WithoutAddRequestContext_ThrowsNamingTheFix()
    {
        var builder = WebApplication.CreateBuilder();
        var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.UseRequestContext());

        Assert.Contains("AddRequestContext()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extensions_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>("services", () => RequestContextServiceCollectionExtensions.AddRequestContext(null!));
        Assert.Throws<ArgumentNullException>("services", () => RequestContextCoreServiceCollectionExtensions.AddRequestContextCore(null!));
        Assert.Throws<ArgumentNullException>("services", () => RequestContextCoreServiceCollectionExtensions.AddRequestContextBackgroundQueue(null!));
        Assert.Throws<ArgumentNullException>("configure", () => new ServiceCollection().AddRequestContextBackgroundQueue(null!));
        Assert.Throws<ArgumentNullException>("app", () => RequestContextApplicationBuilderExtensions.UseRequestContext(null!));
        Assert.Throws<ArgumentNullException>("builder", () => RequestContextHttpClientBuilderExtensions.AddRequestContextPropagation(null!));
    }

    [Fact]
    public void AddRequestContext_Twice_RegistersOnce()
    {
        var services = new ServiceCollection().AddRequestContext().AddRequestContext(options => options.MaxRequestIdLength = 10);

        Assert.Single(services, descriptor => descriptor.ServiceType == typeof(IRequestContext));
        using var provider = services.BuildServiceProvider();
        Assert.Equal(10, provider.GetRequiredService<IOptions<RequestContextOptions>>().Value.MaxRequestIdLength);
    }

    internal static Task<HttpResponseMessage> Send(TestApp app, string path, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return app.Client.SendAsync(request);
    }

    internal sealed record Echo(
        string? Ambient, string? ClientRequestId, string TraceIdentifier, string Injected, string? InjectedClientRequestId,
        string TraceId, string SpanId);
}
