using ContextMiddleware.AspNetCore;
using ContextMiddleware.Requests.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Requests.Tests.Baggage;

public enum Plan
{
    Free,
    Pro,
    Enterprise,
}

/// <summary>A codec of the app's: a region as its two-letter code.</summary>
public sealed record Region(string Code)
{
    public static readonly ContextVar<Region?> Current = new("Region", null);
}

public sealed class RegionCodec : BaggageCodec<Region?>
{
    public override bool TryParse(string text, out Region? value)
    {
        value = text.Length == 2 && text.All(char.IsAsciiLetterLower) ? new Region(text) : null;
        return value is not null;
    }

    public override string Format(Region? value) => value!.Code;
}

/// <summary>Typed baggage variables through messages (<see cref="IRequestContextPropagator"/>), the engine's semantics, and the options' checks.</summary>
public class MessageBaggageTests
{
    private static readonly ContextVar<string?> Tenant = new("Tenant", null);
    private static readonly ContextVar<int?> Shard = new("Shard", null);
    private static readonly ContextVar<long> Quota = new("Quota");
    private static readonly ContextVar<Guid?> CartId = new("CartId", null);
    private static readonly ContextVar<bool> Beta = new("Beta");
    private static readonly ContextVar<Plan?> PlanVar = new("Plan", null);

    private static void Register(RequestContextOptions options) => options.Baggage
        .Add(Tenant, "tenant", v => v.Pattern = "^[a-z0-9-]{1,32}$")
        .Add(Shard, "shard", v => v.Validate = shard => shard is >= 0 and < 64)
        .Add(Quota, "quota")
        .Add(CartId, "cart.id")
        .Add(Beta, "beta")
        .AddEnum(PlanVar, "plan")
        .Add(Region.Current, "region", new RegionCodec());

    [Fact]
    public void Extract_SetsEveryTypedVariable_AndInjectWritesThemBack()
    {
        using var worker = new Worker(Register);
        var cart = Guid.NewGuid();
        var headers = new Dictionary<string, string>
        {
            ["baggage"] = $"tenant=acme-eu, shard=7,quota=123456789012,cart.id={cart},beta=True,plan=pRo,region=fr,other=kept;p=1",
        };

        var context = worker.Propagator.Extract(headers);
        var (values, outgoing) = context.Run(() =>
        {
            var read = (Tenant.Get(), Shard.Get(), Quota.Get(), CartId.Get(), Beta.Get(), PlanVar.Get(), Region.Current.Get());
            var written = new Dictionary<string, string>();
            worker.Propagator.Inject(written);
            return (read, written);
        });

        Assert.Equal(("acme-eu", (int?)7, 123456789012L, (Guid?)cart, true, (Plan?)Plan.Pro, new Region("fr")), values);
        Assert.Equal($"tenant=acme-eu,shard=7,quota=123456789012,cart.id={cart},beta=true,plan=Pro,region=fr,other=kept;p=1", outgoing["baggage"]);
        Assert.DoesNotContain(worker.Records, record => record.Level >= LogLevel.Warning);
    }

    [Theory]
    [InlineData("tenant=ACME", "tenant", "the value does not match the pattern")]
    [InlineData("shard=99", "shard", "the validation rejected the value")]
    [InlineData("shard=seven", "shard", "the value is not a valid Int32")]
    [InlineData("quota=1e3", "quota", "the value is not a valid Int64")]
    [InlineData("cart.id=not-a-guid", "cart.id", "the value is not a valid Guid")]
    [InlineData("beta=yes", "beta", "the value is not a valid Boolean")]
    [InlineData("plan=2", "plan", "the value is not a valid Plan")]
    [InlineData("plan=Gold", "plan", "the value is not a valid Plan")]
    [InlineData("region=FRA", "region", "the value is not a valid Region")]
    [InlineData("tenant=", "tenant", "the value is empty")]
    public void InvalidValue_IsDropped_WithAWarningNamingTheKeyAndReason_NeverTheValue(string member, string key, string reason)
    {
        using var worker = new Worker(Register);
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = member + ",other=1" });

        var (requestId, set) = context.Run(() => (RequestContext.RequestId.Get(), Tenant.TryGet(out _) || Shard.TryGet(out _) || Quota.TryGet(out _) ||
            CartId.TryGet(out _) || Beta.TryGet(out _) || PlanVar.TryGet(out _) || Region.Current.TryGet(out _)));

        Assert.False(set);
        var warning = Assert.Single(worker.Records, record => record.EventName == "BaggageMemberDropped");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal($"The baggage member {key} was dropped: {reason}.", warning.Message);
        Assert.Equal(requestId, warning.RequestId);
        var value = member[(member.IndexOf('=') + 1)..];
        if (value.Length > 1)
        {
            Assert.DoesNotContain(value, warning.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TooLongValue_IsDropped_ByMaxLength()
    {
        using var worker = new Worker(options => options.Baggage.Add(Tenant, "tenant", v => v.MaxLength = 8));
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = "tenant=abcdefghi" });

        Assert.Null(context.Run(() => Tenant.Get()));
        Assert.Contains(worker.Records, record => record.Message == "The baggage member tenant was dropped: the value is longer than 8 characters (9).");
    }

    [Fact]
    public void ChildSet_ReachesTheChildsMessages_NeverTheParentOrSiblings()
    {
        using var worker = new Worker(Register);
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = "tenant=parent" });

        var (child, sibling, parent) = context.Run(() =>
        {
            string Send()
            {
                var headers = new Dictionary<string, string>();
                worker.Propagator.Inject(headers);
                return headers["baggage"];
            }

            var child = Task.Run(() =>
            {
                Tenant.Set("child");
                return Send();
            }).Result;
            var sibling = Task.Run(Send).Result;
            return (child, sibling, Send());
        });

        Assert.Equal("tenant=child", child);
        Assert.Equal("tenant=parent", sibling);
        Assert.Equal("tenant=parent", parent);
    }

    [Fact]
    public void LaterCallsOfARequest_SendTheValuesAsTheyAreThen()
    {
        using var worker = new Worker(Register);
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = "tenant=first,other=1" });

        var sent = context.Run(() =>
        {
            string? Send()
            {
                var headers = new Dictionary<string, string>();
                worker.Propagator.Inject(headers);
                return headers.GetValueOrDefault("baggage");
            }

            var results = new List<string?> { Send(), Send() };
            Tenant.Set("second");
            results.Add(Send());
            Shard.Set(3);
            results.Add(Send());
            Tenant.Set(null);
            Shard.Set(null);
            results.Add(Send());
            Tenant.Set("first");
            results.Add(Send());
            return results;
        });

        Assert.Equal(
            ["tenant=first,other=1", "tenant=first,other=1", "tenant=second,other=1", "tenant=second,shard=3,other=1", "other=1", "tenant=first,other=1"],
            sent);
    }

    [Fact]
    public void UntrustedSource_BaggageIsDropped_WithADebugRecord()
    {
        using var worker = new Worker(options =>
        {
            Register(options);
            options.Baggage.Incoming = RequestContextTrust.Ignore;
        });
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = "tenant=acme,other=1" });

        var outgoing = context.Run(() =>
        {
            var headers = new Dictionary<string, string>();
            worker.Propagator.Inject(headers);
            return (Tenant.Get(), headers.GetValueOrDefault("baggage"));
        });

        Assert.Equal((null, null), outgoing);
        Assert.Contains(worker.Records, record => record.EventName == "UntrustedBaggage" && record.Level == LogLevel.Debug);
    }

    [Fact]
    public void PassThroughOff_UnregisteredMembersAreNotSentOn()
    {
        using var worker = new Worker(options =>
        {
            Register(options);
            options.Baggage.PassThroughUnregistered = false;
        });
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = "tenant=acme,other=1" });

        var outgoing = context.Run(() =>
        {
            var headers = new Dictionary<string, string>();
            worker.Propagator.Inject(headers);
            return headers["baggage"];
        });

        Assert.Equal("tenant=acme", outgoing);
    }

    [Fact]
    public void OverTheLimitWhenSending_WholeMembersAreDropped_RegisteredKept_AndLoggedOncePerRequest()
    {
        using var worker = new Worker(Register);
        var received = string.Join(",", Enumerable.Range(0, 700).Select(i => $"k{i:000}=0123456789")); // 10,499 bytes
        var context = worker.Propagator.Extract(new Dictionary<string, string> { ["baggage"] = received });
        Assert.Single(worker.Records, record => record.EventName == "BaggageOverLimit");

        var sent = context.Run(() =>
        {
            Tenant.Set(new string('t', 200));
            var first = new Dictionary<string, string>();
            worker.Propagator.Inject(first);
            var second = new Dictionary<string, string>();
            worker.Propagator.Inject(second);
            return first["baggage"];
        });

        Assert.True(sent.Length <= 8192, $"{sent.Length} bytes sent");
        Assert.StartsWith("tenant=" + new string('t', 200) + ",k000=", sent, StringComparison.Ordinal);
        Assert.All(sent.Split(',').Skip(1), member => Assert.Matches("^k[0-9]{3}=0123456789$", member)); // whole members only
        Assert.Equal(2, worker.Records.Count(record => record.EventName == "BaggageOverLimit")); // received once, sent once
    }

    [Fact]
    public void Options_BindFromConfiguration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RequestContext:Baggage:Incoming"] = "Ignore",
            ["RequestContext:Baggage:PassThroughUnregistered"] = "false",
            ["RequestContext:Baggage:AllowedHosts:0"] = "*.internal.example",
        }).Build();
        using var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(configuration)
            .AddRequestContextCore(options => options.Baggage.Add(Tenant, "tenant"))
            .BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<RequestContextOptions>>().Value;

        Assert.Equal(RequestContextTrust.Ignore, options.Baggage.Incoming);
        Assert.False(options.Baggage.PassThroughUnregistered);
        Assert.Equal(["*.internal.example"], options.Baggage.AllowedHosts);
        var context = services.GetRequiredService<IRequestContextPropagator>().Extract(new Dictionary<string, string> { ["baggage"] = "tenant=acme" });
        Assert.Null(context.Run(() => Tenant.Get()));
    }

    [Theory]
    [InlineData("bad key", "its key must be a token")]
    [InlineData("", "its key must be a token")]
    public void InvalidKey_FailsAtStartup_NamingTheVariable(string key, string expected)
    {
        var services = new ServiceCollection().AddLogging().AddRequestContextCore(options => options.Baggage.Add(Tenant, key)).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RequestContextOptions>>().Value);

        Assert.Contains("'Tenant'", failure.Message, StringComparison.Ordinal);
        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKeyOrVariable_BadPatternOrMaxLength_FailAtStartup()
    {
        var services = new ServiceCollection().AddLogging().AddRequestContextCore(options => options.Baggage
            .Add(Tenant, "tenant")
            .Add(Tenant, "tenant2")
            .Add(Shard, "tenant")
            .Add(CartId, "cart", v => v.Pattern = "([")
            .Add(Quota, "quota", v => v.MaxLength = 0)).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RequestContextOptions>>().Value);

        Assert.Contains("the key 'tenant' is registered twice", failure.Message, StringComparison.Ordinal);
        Assert.Contains("the variable 'Tenant' is registered twice", failure.Message, StringComparison.Ordinal);
        Assert.Contains("its Pattern is not a valid regular expression", failure.Message, StringComparison.Ordinal);
        Assert.Contains("its MaxLength must be between 1 and 8192; it is 0", failure.Message, StringComparison.Ordinal);
    }
}
