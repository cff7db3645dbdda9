using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests.Baggage;

/// <summary>
/// Three services over Kestrel (A → B → C) carrying a tenant as W3C Baggage: trusted and untrusted callers, allowed
/// and disallowed hosts, values set in code, the W3C reference cases in and out, hostile input, and many requests at once.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class BaggageOverHttpTests
{
    [Fact]
    public async Task TrustedCaller_TenantTravelsAtoBtoC_AndUnregisteredMembersArePassedOn()
    {
        await using var c = await BaggageServices.StartAsync("C");
        await using var b = await BaggageServices.StartAsync("B", c.BaseAddress);
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress);

        var view = await SendAsync(a, "/hop", "tenant=acme, feature.flags=dark-mode;ttl=60");

        Assert.Equal("acme acme acme", Tenants(view));
        Assert.Equal("tenant=acme,feature.flags=dark-mode;ttl=60", view.Next!.BaggageHeader);
        Assert.Equal("tenant=acme,feature.flags=dark-mode;ttl=60", view.Next.Next!.BaggageHeader);
        Assert.Contains("tenant=acme", view.ActivityBaggage, StringComparison.Ordinal);
        Assert.Equal(view.RequestId, view.Next.Next.RequestId);
    }

    [Fact]
    public async Task ValueSetInCode_AtA_IsWhatBAndCRead()
    {
        await using var c = await BaggageServices.StartAsync("C");
        await using var b = await BaggageServices.StartAsync("B", c.BaseAddress);
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress);

        var view = await SendAsync(a, "/hop?set=globex", baggage: null);

        Assert.Equal("globex globex globex", Tenants(view));
        Assert.Null(view.BaggageHeader);
        Assert.Equal("tenant=globex", view.Next!.BaggageHeader);
    }

    [Fact]
    public async Task UntrustedCaller_BaggageIsDroppedAtA_AndNothingReachesBOrC()
    {
        await using var c = await BaggageServices.StartAsync("C");
        await using var b = await BaggageServices.StartAsync("B", c.BaseAddress);
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress, options =>
        {
            options.Baggage.Incoming = RequestContextTrust.TrustedNetworks;
            options.TrustedNetworks.Add("10.0.0.0/8");
        });

        var view = await SendAsync(a, "/hop", "tenant=evil,role=admin");

        Assert.Equal("(none) (none) (none)", Tenants(view));
        Assert.Null(view.BaggageHeader);
        Assert.Equal(string.Empty, view.ActivityBaggage);
        Assert.Null(view.Next!.BaggageHeader);
        Assert.Null(view.Next.Next!.BaggageHeader);
        var record = Assert.Single(a.Logs.Records, record => record.EventId.Name == "UntrustedBaggage");
        Assert.Equal(view.RequestId, record.RequestId);
        Assert.DoesNotContain("evil", string.Join("\n", a.Logs.Records.Select(r => r.AllText)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BaggageTrustedByNetwork_CallerInTheNetwork_IsBelieved_WhileItsTraceIsNot()
    {
        await using var b = await BaggageServices.StartAsync("B");
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress, options =>
        {
            options.IncomingTraceContext = RequestContextTrust.Ignore;
            options.Baggage.Incoming = RequestContextTrust.TrustedNetworks;
            options.TrustedNetworks.Add("127.0.0.0/8");
        });

        var view = await SendAsync(a, "/hop", "tenant=acme");

        Assert.Equal("acme acme", Tenants(view));
    }

    [Fact]
    public async Task ByDefault_BaggageFollowsTheTraceContextTrust()
    {
        await using var b = await BaggageServices.StartAsync("B");
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress, options => options.IncomingTraceContext = RequestContextTrust.Ignore);

        var view = await SendAsync(a, "/hop", "tenant=evil");

        Assert.Null(view.Tenant);
        Assert.Null(view.Next!.BaggageHeader);
    }

    [Fact]
    public async Task DisallowedHost_GetsNoBaggage_ButStillTheRequestId()
    {
        await using var b = await BaggageServices.StartAsync("B");
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress, options => options.Baggage.AllowedHosts.Add("*.internal.example"));

        var view = await SendAsync(a, "/hop?set=globex", "tenant=acme,other=1");

        Assert.Equal("globex", view.Tenant);
        Assert.Null(view.Next!.BaggageHeader);
        Assert.Null(view.Next.Tenant);
        Assert.Equal(view.RequestId, view.Next.RequestId); // the propagation allow-list allows every host
    }

    [Fact]
    public async Task PropagationAllowList_AlsoKeepsBaggageFromAHost()
    {
        await using var recorder = new HeaderRecorder();
        await using var a = await BaggageServices.StartAsync("A", new Uri(recorder.BaseAddress, "/hop"), options => options.PropagationAllowedHosts.Add("allowed.example"));

        using var response = await a.Client.SendAsync(BaggageServices.Request("/hop?set=globex", "tenant=acme")); // the recorder's answer is not a view: only its headers matter

        Assert.NotEmpty(recorder.Requests["/hop"]);
        Assert.Empty(recorder.Values("/hop", "baggage"));
    }

    [Fact]
    public async Task InvalidRegisteredValue_IsDropped_FromTheVariable_TheActivity_TheRequestHeader_AndTheNextHop()
    {
        await using var b = await BaggageServices.StartAsync("B");
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress);

        var view = await SendAsync(a, "/hop", "tenant=Not%20Valid,other=1");

        Assert.Null(view.Tenant);
        Assert.Equal("other=1", view.BaggageHeader); // what OpenTelemetry's instrumentation would read again
        Assert.Equal("other=1", view.ActivityBaggage);
        Assert.Equal("other=1", view.Next!.BaggageHeader);
        var warning = Assert.Single(a.Logs.Records, record => record.EventId.Name == "BaggageMemberDropped");
        Assert.Equal("The baggage member tenant was dropped: the value does not match the pattern.", warning.Message);
        Assert.Equal(view.RequestId, warning.RequestId);
        Assert.Equal(LogLevel.Warning, warning.Level);
    }

    [Fact]
    public async Task ChildFlowSet_IsSentByTheChild_NeverByTheParentOrASibling()
    {
        await using var recorder = new HeaderRecorder();
        await using var a = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/fan-out", async (IHttpClientFactory factory) =>
                {
                    var client = factory.CreateClient("next");
                    await Task.WhenAll(
                        Task.Run(async () =>
                        {
                            Tenant.Current.Set("child");
                            await client.GetAsync("/child");
                        }),
                        Task.Run(() => client.GetAsync("/sibling")));
                    await client.GetAsync("/parent");
                    return Tenant.Current.Get();
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant"));
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        var parent = await (await a.Client.SendAsync(BaggageServices.Request("/fan-out", "tenant=acme"))).Content.ReadAsStringAsync();

        Assert.Equal("acme", parent);
        Assert.Equal(["tenant=child"], recorder.Values("/child", "baggage"));
        Assert.Equal(["tenant=acme"], recorder.Values("/sibling", "baggage"));
        Assert.Equal(["tenant=acme"], recorder.Values("/parent", "baggage"));
    }

    /// <summary>The W3C reference cases as a caller's header: what the variable reads, and what the next hop receives.</summary>
    public static TheoryData<string, string, string> ReferenceCases => new()
    {
        { "SomeKey=SomeValue", "SomeValue", "SomeKey=SomeValue" },
        { "SomeKey=SomeValue,SomeKey2=SomeValue2", "SomeValue", "SomeKey=SomeValue,SomeKey2=SomeValue2" },
        { "SomeKey \t = \t SomeValue \t , \t SomeKey2 \t = \t SomeValue2 \t ", "SomeValue", "SomeKey=SomeValue,SomeKey2=SomeValue2" },
        { "SomeKey=SomeValue;SomeProp,SomeKey2=SomeValue2;SomeProp2", "SomeValue", "SomeKey=SomeValue,SomeKey2=SomeValue2;SomeProp2" },
        { "SomeKey \t = \t SomeValue \t ; \t SomeProp \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomeProp2", "SomeValue", "SomeKey=SomeValue,SomeKey2=SomeValue2;SomeProp2" },
        { "SomeKey=SomeValue;SomePropKey=SomePropValue,SomeKey2=SomeValue2;SomePropKey2=SomePropValue2", "SomeValue", "SomeKey=SomeValue,SomeKey2=SomeValue2;SomePropKey2=SomePropValue2" },
        { "SomeKey \t = \t SomeValue \t ; \t SomePropKey=SomePropValue \t , \t SomeKey2 \t = \t SomeValue2 \t ; \t SomePropKey2 \t = \t SomePropValue2", "SomeValue", "SomeKey=SomeValue,SomeKey2=SomeValue2;SomePropKey2=SomePropValue2" },
        { "SomeKey=SomeValue=equals", "SomeValue=equals", "SomeKey=SomeValue=equals" },
        { "SomeKey=%09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29", "\t \"';=asdf!@#$%^&*()", "SomeKey=%09%20%22'%3B=asdf!@#$%25^&*()" },
        { "SomeKey \t = \t %09%20%22%27%3B%3Dasdf%21%40%23%24%25%5E%26%2A%28%29 \t ", "\t \"';=asdf!@#$%^&*()", "SomeKey=%09%20%22'%3B=asdf!@#$%25^&*()" },
        { "SomeKey=SomeValue;SomeProp;SecondProp=PropValue,SomeKey2=v2;SomeProp;SecondProp=PropValue", "SomeValue", "SomeKey=SomeValue,SomeKey2=v2;SomeProp;SecondProp=PropValue" },
    };

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public async Task W3CReferenceCase_VariableReadsTheDecodedValue_AndTheNextHopReceivesIt(string header, string value, string sent)
    {
        await using var recorder = new HeaderRecorder();
        await using var a = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/case", async (IHttpClientFactory factory) =>
                {
                    await factory.CreateClient("next").GetAsync("/next");
                    return SomeKey.Get();
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(SomeKey, "SomeKey"));
                builder.Services.AddHttpClient("next", client => client.BaseAddress = recorder.BaseAddress).AddRequestContextPropagation();
            },
            kestrel: true);

        var read = await (await a.Client.SendAsync(BaggageServices.Request("/case", header))).Content.ReadAsStringAsync();

        Assert.Equal(value, read);
        Assert.Equal([sent], recorder.Values("/next", "baggage"));

        // The runtime's own W3C propagator reads the next hop's header to the same value.
        var runtime = DistributedContextPropagator.CreateW3CPropagator().ExtractBaggage(sent, static (object? carrier, string name, out string? v, out IEnumerable<string>? vs) =>
        {
            v = name == "baggage" ? (string)carrier! : null;
            vs = null;
        })!.ToDictionary(item => item.Key, item => item.Value);
        Assert.Equal(value.Trim(), runtime["SomeKey"]!.Trim());
    }

    private static readonly ContextVar<string?> SomeKey = new("SomeKey", null);

    private static readonly System.Text.Json.JsonSerializerOptions s_json = new(System.Text.Json.JsonSerializerDefaults.Web);

    public static TheoryData<string, string> HostileCorpus => new()
    {
        { "oversized value", "tenant=" + new string('a', 20_000) },
        { "1,000 members", string.Join(",", Enumerable.Range(0, 1000).Select(i => $"m{i}=v{i}")) },
        { "bad percent-encoding", "tenant=%ZZ%4,other=%" },
        { "non-UTF-8 percent-encoded", "tenant=%FF%FE%C3,other=%C3%28" },
        { "quotes and backslashes", "tenant=\"acme\",other=a\\b" },
        { "control characters", "tenant=a\u0001b,\u0007=x" },
        { "empty and separators only", ",,,;;;===" },
        { "keys that are not tokens", "te nant=1,(x)=2,{}=3" },
        { "script", "tenant=<script>alert(1)</script>" },
    };

    [Theory]
    [MemberData(nameof(HostileCorpus))]
    public async Task HostileBaggage_NeverA500_NeverEchoed(string name, string header)
    {
        await using var b = await BaggageServices.StartAsync("B");
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress);

        var response = await a.Client.SendAsync(BaggageServices.Request("/hop", header));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode is HttpStatusCode.OK, $"{name}: {response.StatusCode}");
        var view = System.Text.Json.JsonSerializer.Deserialize<HopView>(body, s_json)!;
        Assert.Null(view.Tenant);
        Assert.True((view.Next!.BaggageHeader?.Length ?? 0) <= 8192, $"{name}: {view.Next.BaggageHeader?.Length} bytes sent on");
        foreach (var response2 in response.Headers.Concat(response.Content.Headers))
        {
            Assert.DoesNotContain(response2.Value, value => value.Contains("tenant", StringComparison.Ordinal));
        }

        var logs = string.Join("\n", a.Logs.Records.Concat(b.Logs.Records).Select(record => record.AllText));
        foreach (var fragment in new[] { "aaaaaaaaaa", "%ZZ", "%FF", "<script>", "\"acme\"", "a\u0001b", "v999" })
        {
            Assert.DoesNotContain(fragment, logs, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("CR/LF", "baggage: tenant=acme\r\nX-Injected: 1\r\n")]
    [InlineData("bare LF", "baggage: tenant=a\nb\r\n")]
    [InlineData("non-UTF-8 bytes", "baggage: tenant=\u00ff\u00fe,other=caf\u00e9\r\n")]
    [InlineData("obs-fold", "baggage: tenant=acme,\r\n other=1\r\n")]
    public async Task RawHostileHeader_IsAnsweredWithoutA500(string name, string headerLines)
    {
        await using var a = await BaggageServices.StartAsync("A");

        var status = await RawHttp.SendAsync(a.BaseAddress, $"GET /hop HTTP/1.1\r\nHost: 127.0.0.1\r\n{headerLines}Connection: close\r\n\r\n");

        Assert.True(status is "200" or "400", $"{name}: {status}");
        Assert.DoesNotContain(a.Logs.Records, record => record.Level >= LogLevel.Error);
        Assert.DoesNotContain("\u00ff", string.Join("\n", a.Logs.Records.Select(record => record.AllText)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoHundredInterleavedRequests_EachCarriesItsOwnTenant_ThroughAandB()
    {
        await using var b = await BaggageServices.StartAsync("B");
        await using var a = await BaggageServices.StartAsync("A", b.BaseAddress);
        var mismatches = new ConcurrentBag<string>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            var tenant = $"t-{i}";
            var view = await SendAsync(a, i % 2 == 0 ? "/hop" : $"/hop?set={tenant}", i % 2 == 0 ? $"tenant={tenant},n={i}" : null);
            if (view.Tenant != tenant || view.Next!.Tenant != tenant)
            {
                mismatches.Add($"{tenant}: A={view.Tenant} B={view.Next?.Tenant}");
            }
        });

        Assert.Empty(mismatches);
    }

    /// <summary>The tenant each service read, A first: "(none)" for none.</summary>
    private static string Tenants(HopView view) => (view.Tenant ?? "(none)") + (view.Next is null ? "" : " " + Tenants(view.Next));

    private static async Task<HopView> SendAsync(TestApp app, string path, string? baggage)
    {
        var response = await app.Client.SendAsync(BaggageServices.Request(path, baggage));
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {string.Join("\n", app.Logs.Records.Where(r => r.Level >= LogLevel.Error).Select(r => r.Exception?.ToString()))}");
        return (await response.Content.ReadFromJsonAsync<HopView>())!;
    }
}
