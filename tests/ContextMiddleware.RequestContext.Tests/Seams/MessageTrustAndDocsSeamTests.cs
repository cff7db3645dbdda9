using System.Net;
using System.Xml.Linq;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Requests.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Requests.Tests.Seams;

/// <summary>The RequestContext package's seams: a failing trust policy on a message, and the public docs of reloads.</summary>
public class MessageTrustAndDocsSeamTests
{
    private sealed class AlwaysThrowingPolicy : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            throw new InvalidOperationException("policy store unavailable");
    }

    // Claim 3 for messages: "exactly one Error record TrustPolicyFailed". A policy whose store is down throws for
    // both questions; one message costs two Error records.
    [Fact]
    public void Extract_PolicyThrowingForEveryValue_OneMessage_IsOneTrustPolicyFailedRecord()
    {
        using var logs = new Worker();
        using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug))
            .AddRequestContextCore()
            .AddSingleton<IRequestContextTrustPolicy>(new AlwaysThrowingPolicy())
            .BuildServiceProvider();
        var propagator = services.GetRequiredService<IRequestContextPropagator>();

        propagator.Extract(new Dictionary<string, string>
        {
            ["X-Request-ID"] = "msg-1",
            ["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        });

        var failures = logs.Records.Where(r => r.EventName == "TrustPolicyFailed").ToList();
        Assert.True(failures.Count == 1, $"one message, {failures.Count} TrustPolicyFailed records: {string.Join(" || ", failures.Select(r => r.Message))}");
    }

    // The change made reloads fail closed (valid entries applied, InvalidReload message rewritten, README rewritten),
    // but the public XML documentation of RequestContextOptions still promises the old behaviour.
    [Fact]
    public void RequestContextOptionsDocs_DescribeTheReloadBehaviourNowInForce()
    {
        var xml = Path.ChangeExtension(typeof(RequestContextOptions).Assembly.Location, ".xml");
        var summary = XDocument.Load(xml).Descendants("member")
            .Single(member => (string?)member.Attribute("name") == "T:ContextMiddleware.AspNetCore.RequestContextOptions")
            .Value;

        Assert.DoesNotContain("the previous lists stay in force", summary, StringComparison.Ordinal);
    }
}
