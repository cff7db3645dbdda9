using System.Net;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Requests.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Requests.Tests.Seams;

public enum ReviewPlan
{
    Free = 0,
    Pro = 1,
}

/// <summary>Review probes of the baggage change, through messages (IRequestContextPropagator) in a worker.</summary>
public class BaggageSeamProbes
{
    private static readonly ContextVar<DateTimeOffset?> ValidUntil = new("ValidUntil", null);
    private static readonly ContextVar<string?> Tenant = new("ReviewTenant", null);
    private static readonly ContextVar<ReviewPlan?> Plan = new("ReviewPlan", null);

    // RequestBaggageOptions.Add<T> names DateTimeOffset as a supported type, and BaggageCodec.Format promises
    // "the text that TryParse reads back as value". The invariant "G" format loses the fraction of a second.
    [Fact]
    public void DateTimeOffsetVariable_RoundTripsThroughAMessage()
    {
        using var worker = new Worker(options => options.Baggage.Add(ValidUntil, "valid.until"));
        var sent = new DateTimeOffset(2025, 3, 4, 5, 6, 7, 890, TimeSpan.FromHours(2));

        var headers = Worker.InRequest("r-1", _ =>
        {
            ValidUntil.Set(sent);
            var written = new Dictionary<string, string>();
            worker.Propagator.Inject(written);
            return written;
        });
        var read = worker.Propagator.Extract(headers).Run(() => ValidUntil.Get());

        Assert.Equal(sent, read);
    }

    // A policy that cannot answer for Baggage only: the Error record must name Baggage, not TraceContext (whose
    // caller was in fact believed: the trace continues).
    [Fact]
    public void PolicyThrowingForBaggageOnly_IsLoggedAsABaggageFailure()
    {
        using var worker = new Worker(options => options.Baggage.Add(Tenant, "tenant"));
        var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(worker).SetMinimumLevel(LogLevel.Debug))
            .AddRequestContextCore(options => options.Baggage.Add(Tenant, "tenant"))
            .AddSingleton<IRequestContextTrustPolicy, ThrowsForBaggage>()
            .BuildServiceProvider();
        var propagator = services.GetRequiredService<IRequestContextPropagator>();
        var traceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        var context = propagator.Extract(new Dictionary<string, string>
        {
            ["traceparent"] = $"00-{traceId}-00f067aa0ba902b7-01",
            ["baggage"] = "tenant=acme",
        });
        var (continued, tenant) = context.Run(() => (RequestContext.Trace.Get()?.TraceId, Tenant.Get()));

        Assert.Equal(traceId, continued); // the trace context was trusted
        Assert.Null(tenant);              // the baggage failed closed
        var failure = Assert.Single(worker.Records, record => record.EventName == "TrustPolicyFailed");
        Assert.True(failure.Message.Contains("Baggage", StringComparison.Ordinal), $"the record reads: {failure.Message}");
    }

    private sealed class ThrowsForBaggage : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            value == IncomingValue.Baggage ? throw new InvalidOperationException("baggage unknown") : true;
    }

    // A value the app sets in code is sent "as it is" (BaggageVariableOptions remarks) - but an enum value that is not a
    // single defined name is written as text the receiving service (same registration) always refuses with a Warning.
    [Fact]
    public void EnumValueSetInCode_IsEitherNotSent_OrReadBackByTheSameRegistration()
    {
        using var worker = new Worker(options => options.Baggage.AddEnum(Plan, "plan"));

        var headers = Worker.InRequest("r-2", _ =>
        {
            Plan.Set((ReviewPlan)7);
            var written = new Dictionary<string, string>();
            worker.Propagator.Inject(written);
            return written;
        });
        var read = worker.Propagator.Extract(headers).Run(() => Plan.Get());

        Assert.True(
            !headers.ContainsKey("baggage") || read == (ReviewPlan)7,
            $"sent '{headers.GetValueOrDefault("baggage")}', read back as {read?.ToString() ?? "null"}; warnings: " +
            string.Join(" | ", worker.Records.Where(r => r.Level >= LogLevel.Warning).Select(r => r.Message)));
    }

    // Same for an empty string set in code: "tenant=" is written, and the next hop drops it with a Warning.
    [Fact]
    public void EmptyStringSetInCode_IsEitherNotSent_OrReadBack()
    {
        using var worker = new Worker(options => options.Baggage.Add(Tenant, "tenant"));

        var headers = Worker.InRequest("r-3", _ =>
        {
            Tenant.Set(string.Empty);
            var written = new Dictionary<string, string>();
            worker.Propagator.Inject(written);
            return written;
        });
        var read = worker.Propagator.Extract(headers).Run(() => Tenant.Get());

        Assert.True(
            !headers.ContainsKey("baggage") || read == string.Empty,
            $"sent '{headers.GetValueOrDefault("baggage")}', read back as {read ?? "null"}; warnings: " +
            string.Join(" | ", worker.Records.Where(r => r.Level >= LogLevel.Warning).Select(r => r.Message)));
    }
    private static string Members(int count, int valueLength, string prefix = "m") =>
        string.Join(",", Enumerable.Range(0, count).Select(i => $"{prefix}{i:D3}=" + new string('v', valueLength)));

    // The limit: every member up to 8,192 bytes in all (separators counted) is propagated; one byte more drops a
    // whole member, unregistered first.
    [Fact]
    public void Limit_ExactlyEightKilobytes_IsPassedOnWhole_OneByteMoreDropsOneWholeUnregisteredMember()
    {
        using var worker = new Worker(options => options.Baggage.Add(Tenant, "tenant"));

        // 64 members "m000=" + 122 v's = 127 bytes each, 63 commas: 64*127+63 = 8191; one more 'v' on the last = 8192.
        var exact = Members(63, 122) + ",m063=" + new string('v', 123);
        Assert.Equal(8192, exact.Length);
        var over = "tenant=acme," + exact; // registered member first in the header: 12 bytes more

        string? Relay(string header) => worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = header }).Run(() =>
        {
            var written = new Dictionary<string, string>();
            worker.Propagator.Inject(written);
            return written.GetValueOrDefault("baggage");
        });

        Assert.Equal(exact, Relay(exact));
        var sent = Relay(over)!;
        Assert.True(sent.Length <= 8192, $"{sent.Length} bytes sent");
        Assert.StartsWith("tenant=acme,", sent, StringComparison.Ordinal);
        Assert.Equal(64 + 1 - 1, sent.Split(',').Length); // the registered member kept, exactly one unregistered dropped
    }

    // RequestBaggageOptions from configuration: PassThroughUnregistered, Incoming, AllowedHosts.
    [Fact]
    public void BaggageOptions_BindFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RequestContext:Baggage:PassThroughUnregistered"] = "false",
            ["RequestContext:Baggage:Incoming"] = "Ignore",
            ["RequestContext:Baggage:AllowedHosts:0"] = "api.internal.example",
        }).Build();
        using var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddRequestContextCore(options => options.Baggage.Add(Tenant, "tenant"))
            .BuildServiceProvider();
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RequestContextOptions>>().Value;

        Assert.False(options.Baggage.PassThroughUnregistered);
        Assert.Equal(RequestContextTrust.Ignore, options.Baggage.Incoming);
        Assert.Equal(["api.internal.example"], options.Baggage.AllowedHosts);
        var propagator = services.GetRequiredService<IRequestContextPropagator>();
        Assert.Null(propagator.Extract(new Dictionary<string, string> { ["baggage"] = "tenant=acme" }).Run(() => Tenant.Get()));
    }
}
