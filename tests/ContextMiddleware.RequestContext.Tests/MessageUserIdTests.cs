using System.Net;
using System.Security.Claims;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.User;
using ContextMiddleware.Requests.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Requests.Tests;

/// <summary>The user id a message carries when the app opts in (<see cref="RequestContextOptions.MessageUserIdHeader"/>): context, never credentials.</summary>
public class MessageUserIdTests
{
    private static ICurrentUser Alice(RequestContextSettings settings) => new SourceUser(
        new FixedPrincipalCall(new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice@example.com"), new Claim(ClaimTypes.Role, "admin")], "jwt"))),
        settings);

    private static Dictionary<string, string> PublishAs(Worker worker, Func<RequestContextSettings, ICurrentUser> user)
    {
        var settings = worker.Services.GetRequiredService<RequestContextSettings>();
        return Worker.InRequest("req-1", _ =>
        {
            RequestContext.User.Set(user(settings));
            var headers = new Dictionary<string, string>();
            worker.Propagator.Inject(headers);
            return headers;
        });
    }

    [Fact]
    public void ByDefault_TheUserIdDoesNotTravel()
    {
        using var worker = new Worker();
        var headers = PublishAs(worker, Alice);

        Assert.DoesNotContain(headers.Keys, key => key.Contains("user", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(headers.Values, value => value.Contains("alice", StringComparison.Ordinal));

        // A header a producer that opted in wrote is not read by a consumer that did not.
        headers["x-user-id"] = "alice";
        var user = worker.Propagator.Extract(headers).Run(() => RequestContext.User.Get());
        Assert.Null(user.Id);
    }

    [Fact]
    public void OptedIn_TheConsumerHasTheIdAsContext_NotAsCredentials()
    {
        using var worker = new Worker(o => o.MessageUserIdHeader = "x-user-id");
        var headers = PublishAs(worker, Alice);
        Assert.Equal("alice@example.com", headers["x-user-id"]);

        var (id, authenticated, inRole, principalAuthenticated, sub, requestId) = worker.Propagator.Extract(headers).Run(() =>
        {
            var user = RequestContext.User.Get();
            return (user.Id, user.IsAuthenticated, user.IsInRole("admin"), user.Principal.Identity!.IsAuthenticated, user.FindFirstValue("sub"), RequestContext.RequestId.Get());
        });

        Assert.Equal("alice@example.com", id);
        Assert.False(authenticated);
        Assert.False(inRole);
        Assert.False(principalAuthenticated);
        Assert.Equal("alice@example.com", sub);
        Assert.Equal("req-1", requestId);
        Assert.DoesNotContain(worker.Records, record => record.Level >= LogLevel.Warning);
    }

    [Fact]
    public void OptedIn_NonAsciiIdsRoundTrip_AndAnonymousUsersSendNothing()
    {
        using var worker = new Worker(o => o.MessageUserIdHeader = "x-user-id");
        var headers = PublishAs(worker, s => new SourceUser(new FixedPrincipalCall(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "zoë, 李")], "jwt"))), s));
        Assert.True(headers["x-user-id"].All(char.IsAscii));
        Assert.Equal("zoë, 李", worker.Propagator.Extract(headers).Run(() => RequestContext.User.Get().Id));

        Assert.False(PublishAs(worker, _ => RequestContext.User.Get()).ContainsKey("x-user-id"));
    }

    [Theory]
    [InlineData("ab%0Dcd", "control characters")]
    [InlineData("%FF%FE", "invalid UTF-8")]
    [InlineData("50%", "not percent-encoded")]
    [InlineData("bad value", "not percent-encoded")]
    [InlineData("", "empty")]
    public void OptedIn_AnInvalidIdIsDropped_AndLoggedWithoutItsValue(string value, string reason)
    {
        using var worker = new Worker(o => o.MessageUserIdHeader = "x-user-id");
        var headers = new Dictionary<string, string> { ["X-Request-ID"] = "req-9", ["x-user-id"] = value };

        var id = worker.Propagator.Extract(headers).Run(() => RequestContext.User.Get().Id);

        Assert.Null(id);
        var record = Assert.Single(worker.Records, r => r.EventName == "InvalidMessageUserId");
        Assert.Equal(LogLevel.Warning, record.Level);
        Assert.Contains(reason, record.Message, StringComparison.Ordinal);
        Assert.Equal("req-9", record.RequestId);
        if (value.Length > 0)
        {
            Assert.DoesNotContain(value, record.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void OptedIn_AnOverlongIdIsDropped()
    {
        using var worker = new Worker(o => o.MessageUserIdHeader = "x-user-id");
        var id = worker.Propagator.Extract(new Dictionary<string, string> { ["x-user-id"] = new string('a', 257) })
            .Run(() => RequestContext.User.Get().Id);
        Assert.Null(id);
        Assert.Contains(worker.Records, r => r.EventName == "InvalidMessageUserId" && r.Message.Contains("longer than 256", StringComparison.Ordinal));

        // A producer does not send what a consumer would refuse.
        var headers = PublishAs(worker, s => new SourceUser(new FixedPrincipalCall(
            new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", new string('a', 257))], "jwt"))), s));
        Assert.False(headers.ContainsKey("x-user-id"));
    }

    [Fact]
    public void TheOneTrustPolicyDecides()
    {
        using var ignoring = new Worker(o => { o.MessageUserIdHeader = "x-user-id"; o.IncomingRequestIds = RequestContextTrust.Ignore; });
        Assert.Null(ignoring.Propagator.Extract(new Dictionary<string, string> { ["x-user-id"] = "alice" }).Run(() => RequestContext.User.Get().Id));
        Assert.Contains(ignoring.Records, r => r.EventName == "UntrustedMessageUserId" && !r.Message.Contains("alice", StringComparison.Ordinal));

        var services = new ServiceCollection()
            .AddLogging()
            .AddRequestContextCore(o => o.MessageUserIdHeader = "x-user-id")
            .AddSingleton<IRequestContextTrustPolicy>(new OnlyIds(IncomingValue.RequestId, IncomingValue.TraceContext));
        using var provider = services.BuildServiceProvider();
        var propagator = provider.GetRequiredService<IRequestContextPropagator>();
        var (user, requestId) = propagator.Extract(new Dictionary<string, string> { ["X-Request-ID"] = "req-5", ["x-user-id"] = "alice" })
            .Run(() => (RequestContext.User.Get().Id, RequestContext.RequestId.Get()));
        Assert.Null(user);
        Assert.Equal("req-5", requestId);
    }

    [Theory]
    [InlineData("x user")]
    [InlineData("X-Request-ID")]
    [InlineData("traceparent")]
    public void AHeaderNameThatCannotWorkFailsAtStartup(string header)
    {
        var services = new ServiceCollection().AddLogging().AddRequestContextCore(o => o.MessageUserIdHeader = header);
        using var provider = services.BuildServiceProvider();
        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RequestContextOptions>>().Value);
        Assert.Contains("MessageUserIdHeader", failure.Message, StringComparison.Ordinal);
    }

    private sealed class OnlyIds(params IncomingValue[] trusted) : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) => trusted.Contains(value);
    }

    private sealed class FixedPrincipalCall(ClaimsPrincipal principal) : IncomingCallSource
    {
        public override IPAddress? RemoteAddress => null;

        public override ClaimsPrincipal? Principal => principal;

        public override Microsoft.Extensions.Primitives.StringValues GetHeader(string name) => default;
    }
}
