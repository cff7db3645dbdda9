using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Configuration;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>Tests that install a process-wide ActivityListener run alone, so that no other test sees it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ActivityListenerCollection
{
    public const string Name = "Process-wide ActivityListener";
}

/// <summary>
/// W3C Trace Context end to end: a service on Kestrel (127.0.0.1) receives a request with the table's trace headers
/// and makes two outgoing HttpClient calls (<c>AddRequestContextPropagation()</c>) to a bare listener that records
/// the header lines that actually arrive. Every case runs with the three ways a request gets its Activity: from
/// hosting without a listener (logging on), from the middleware (nothing on), and from hosting's ActivitySource
/// with a listener and a parent-based sampler (as OpenTelemetry's default).
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class TraceContextTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string ParentId = "00f067aa0ba902b7";
    private const string Valid = $"00-{TraceId}-{ParentId}-01";

    public enum ActivityOrigin
    {
        HostWithoutListener,
        Middleware,
        HostWithListener,
    }

    /// <summary>One row: the incoming headers, whether the trace continues, and the flags and tracestate that must arrive.</summary>
    public sealed record Row(string Name, string[] TraceParents, string[] TraceStates, bool Continues, string? Flags, string? TraceState);

    public static readonly string Key256 = "k" + new string('a', 255);
    public static readonly string ThirtyTwoMembers = string.Join(',', Enumerable.Range(0, 32).Select(i => $"k{i}=v{i}"));
    public static readonly string Long512 = string.Join(',', Enumerable.Range(0, 8).Select(i => $"k{i}=" + new string('x', 70)));

    public static readonly Row[] Table =
    [
        new("no headers", [], [], false, null, null),
        new("recommendation example", [$"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"], [], true, "01", null),
        new("sampled", [Valid], ["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"], true, "01", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
        new("not sampled", [$"00-{TraceId}-{ParentId}-00"], [], true, "00", null),
        new("sampled + random (Level 2)", [$"00-{TraceId}-{ParentId}-03"], [], true, "03", null),
        new("random only", [$"00-{TraceId}-{ParentId}-02"], [], true, "02", null),
        new("future version, 55 characters", [$"01-{TraceId}-{ParentId}-01"], ["congo=t61rcWkgMzE"], true, "01", "congo=t61rcWkgMzE"),
        new("future version, more fields", [$"cc-{TraceId}-{ParentId}-01-what-the-future-will-be-like"], [], true, "01", null),
        new("future version, 56th character not '-'", [$"cc-{TraceId}-{ParentId}-01.what"], ["congo=1"], false, null, null),
        new("version 00 with a trailing field", [$"{Valid}-extra"], ["congo=1"], false, null, null),
        new("version ff", [$"ff-{TraceId}-{ParentId}-01"], [], false, null, null),
        new("all-zero trace id", [$"00-{new string('0', 32)}-{ParentId}-01"], [], false, null, null),
        new("all-zero parent id", [$"00-{TraceId}-{new string('0', 16)}-01"], [], false, null, null),
        new("upper-case hex", [$"00-{TraceId.ToUpperInvariant()}-{ParentId}-01"], [], false, null, null),
        new("two traceparent values", [Valid, Valid], ["congo=1"], false, null, null), // HttpClient sends one line "a, b"
        new("garbage traceparent", ["not a traceparent at all"], [], false, null, null),
        new("two tracestate values", [Valid], ["rojo=1", "congo=2"], true, "01", "rojo=1, congo=2"), // sent as one line
        new("tracestate with spaces, tabs and empty members", [Valid], ["rojo=1 ,\tcongo=2,,"], true, "01", "rojo=1 ,\tcongo=2,,"),
        new("multi-tenant key", [Valid], ["fw529a3039@dt=1"], true, "01", "fw529a3039@dt=1"),
        new("invalid member drops the tracestate", [Valid], ["rojo=1,Congo=2"], true, "01", null),
        new("'=' in a value drops the tracestate", [Valid], ["rojo=a=b"], true, "01", null),
        new("32 members kept", [Valid], [ThirtyTwoMembers], true, "01", ThirtyTwoMembers),
        new("33 members dropped", [Valid], [ThirtyTwoMembers + ",k32=v32"], true, "01", null),
        new("256-character key kept intact", [Valid], [$"{Key256}=v"], true, "01", $"{Key256}=v"),
        new("257-character key dropped", [Valid], [$"{Key256}a=v"], true, "01", null),
        new("tracestate of 512+ characters kept intact", [Valid], [Long512], true, "01", Long512),
        new("tracestate without traceparent", [], ["congo=t61rcWkgMzE"], false, null, null),
    ];

    public static TheoryData<ActivityOrigin> Origins => [ActivityOrigin.HostWithoutListener, ActivityOrigin.Middleware, ActivityOrigin.HostWithListener];

    [Theory]
    [MemberData(nameof(Origins))]
    public async Task EveryCaseOfTheTable_ArrivesDownstreamAsTheRecommendationRequires(ActivityOrigin origin)
    {
        await using var downstream = new HeaderRecorder();
        using var listener = origin == ActivityOrigin.HostWithListener ? ParentBasedListener() : null;
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: origin != ActivityOrigin.Middleware);

        var failures = new List<string>();
        for (var i = 0; i < Table.Length; i++)
        {
            var row = Table[i];
            var seen = await CallAsync(service, downstream, $"case{i}", row.TraceParents, row.TraceStates);
            failures.AddRange(Check(row, seen).Select(failure => $"{row.Name}: {failure}"));
        }

        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Theory]
    [InlineData(RequestContextTrust.Ignore, null, false)]
    [InlineData(RequestContextTrust.TrustedNetworks, "10.0.0.0/8", false)]
    [InlineData(RequestContextTrust.TrustedNetworks, "127.0.0.0/8", true)]
    [InlineData(RequestContextTrust.Trust, null, true)]
    public async Task UntrustedCaller_CannotChooseTheTraceId_NorSwitchSamplingOff(RequestContextTrust trust, string? network, bool trusted)
    {
        await using var downstream = new HeaderRecorder();
        using var listener = ParentBasedListener();
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: true, configure: options =>
        {
            options.IncomingTraceContext = trust;
            if (network is not null)
            {
                options.TrustedNetworks.Add(network);
            }
        });

        var seen = await CallAsync(service, downstream, "call", [$"00-{TraceId}-{ParentId}-00"], ["congo=t61rcWkgMzE"], baggage: "userId=alice");

        Assert.Equal(trusted, seen.Service.TraceId == TraceId);
        Assert.Equal(trusted ? ParentId : null, seen.Service.ParentSpanId);
        var parent = Assert.Single(seen.TraceParents[0]);
        Assert.Equal(trusted ? "00" : "01", parent[^2..]); // untrusted: our sampler decides, and samples
        Assert.Equal(trusted ? ["congo=t61rcWkgMzE"] : [], seen.TraceStates[0]);
        Assert.Equal(trusted ? ["userId=alice"] : [], seen.Baggage[0].Select(value => value.Replace(" ", "", StringComparison.Ordinal)));
        Assert.Equal(trusted, service.Logs.Records.All(record => record.EventId.Name != "UntrustedTraceContext"));
    }

    [Theory]
    [InlineData(true, false, "127.0.0.0/8", true)]   // configuration present when AddRequestContext runs: accessor added
    [InlineData(true, false, "10.0.0.0/8", false)]
    [InlineData(false, true, "127.0.0.0/8", true)]   // configuration added later, accessor added by the app
    public async Task TrustedNetworks_FromConfiguration_DecidesOnTheCallersAddress(bool configurationFirst, bool appAddsAccessor, string network, bool trusted)
    {
        await using var downstream = new HeaderRecorder();
        await using var service = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/trace", () => RequestContext.Trace.Get()!.TraceId);
            },
            builder =>
            {
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["RequestContext:IncomingTraceContext"] = "TrustedNetworks",
                    ["RequestContext:TrustedNetworks:0"] = network,
                });
                if (configurationFirst)
                {
                    builder.Services.AddRequestContext();
                }

                if (appAddsAccessor)
                {
                    builder.Services.AddHttpContextAccessor();
                }
            },
            kestrel: true);

        var request = new HttpRequestMessage(HttpMethod.Get, "/trace");
        request.Headers.TryAddWithoutValidation("traceparent", Valid);
        var traceId = await (await service.Client.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal(trusted, traceId == TraceId);
    }

    [Fact]
    public async Task TrustedNetworks_AddedAfterRegistration_WithoutAnAccessor_FailsAtStartupNamingTheFix()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => TestApp.StartAsync(
            app => app.UseRequestContext(),
            builder => builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["RequestContext:IncomingTraceContext"] = "TrustedNetworks",
                ["RequestContext:TrustedNetworks:0"] = "10.0.0.0/8",
            })));

        Assert.Contains("Call builder.Services.AddHttpContextAccessor()", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UntrustedCaller_TraceHeadersAreRemovedFromTheRequest_BeforeTheAppSeesThem(bool hostActivity)
    {
        await using var downstream = new HeaderRecorder();
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: hostActivity,
            configure: options => options.IncomingTraceContext = RequestContextTrust.Ignore);

        var request = new HttpRequestMessage(HttpMethod.Get, "/headers");
        request.Headers.TryAddWithoutValidation("traceparent", Valid);
        request.Headers.TryAddWithoutValidation("tracestate", "congo=1");
        request.Headers.TryAddWithoutValidation("baggage", "userId=alice");
        var headers = await (await service.Client.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal("||", headers);
    }

    [Fact]
    public async Task FutureVersion_IsRewrittenAsVersion00_InTheRequestHeaders()
    {
        await using var downstream = new HeaderRecorder();
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: true);

        var request = new HttpRequestMessage(HttpMethod.Get, "/headers");
        request.Headers.TryAddWithoutValidation("traceparent", $"cc-{TraceId}-{ParentId}-01-future");
        request.Headers.TryAddWithoutValidation("tracestate", ["a=1", "b=2"]);
        var headers = await (await service.Client.SendAsync(request)).Content.ReadAsStringAsync();

        Assert.Equal($"{Valid}|a=1, b=2|", headers);
    }

    [Fact]
    public async Task RepeatedHeaderLines_TwoTraceparentsRestart_TwoTracestatesAreCombined()
    {
        await using var downstream = new HeaderRecorder();
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: true);

        // HttpClient folds repeated values into one line; a raw request sends them as separate header lines.
        var twoParents = await RawGetAsync(service, "/headers", $"traceparent: {Valid}", $"traceparent: {Valid}", "tracestate: a=1");
        var twoStates = await RawGetAsync(service, "/headers", $"traceparent: {Valid}", "tracestate: a=1", "tracestate: b=2");
        var called = await RawGetAsync(service, "/call/raw", $"traceparent: {Valid}", "tracestate: a=1", "tracestate: b=2");

        Assert.Equal("||", twoParents);
        Assert.Equal($"{Valid}|a=1,b=2|", twoStates);
        Assert.Contains(TraceId, called, StringComparison.Ordinal);
        Assert.Equal(["a=1,b=2"], downstream.Values("/raw/1", "tracestate"));
        Assert.Equal(["a=1,b=2"], downstream.Values("/raw/2", "tracestate"));
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task TraceResponse_IsWrittenOnlyWhenAskedFor(bool enabled, bool failing)
    {
        await using var downstream = new HeaderRecorder();
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: true,
            configure: options => options.TraceResponse = enabled);

        var request = new HttpRequestMessage(HttpMethod.Get, failing ? "/fail" : "/trace");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{TraceId}-{ParentId}-03");
        var response = await service.Client.SendAsync(request);

        if (!enabled)
        {
            Assert.False(response.Headers.Contains("traceresponse"));
            return;
        }

        var value = Assert.Single(response.Headers.GetValues("traceresponse"));
        Assert.Matches($"^00-{TraceId}-[0-9a-f]{{16}}-03$", value);
        Assert.DoesNotContain(ParentId, value, StringComparison.Ordinal);
        if (!failing)
        {
            Assert.Equal(await response.Content.ReadAsStringAsync(), value);
        }
    }

    [Fact]
    public async Task InvalidTraceHeaders_AreLoggedWithoutTheirValues()
    {
        await using var downstream = new HeaderRecorder();
        await using var service = await StartServiceAsync(downstream.BaseAddress, collectLogs: true);

        var request = new HttpRequestMessage(HttpMethod.Get, "/trace");
        request.Headers.TryAddWithoutValidation("traceparent", "00-SECRET-upper");
        await service.Client.SendAsync(request);
        request = new HttpRequestMessage(HttpMethod.Get, "/trace");
        request.Headers.TryAddWithoutValidation("traceparent", Valid);
        request.Headers.TryAddWithoutValidation("tracestate", "SECRET=1");
        await service.Client.SendAsync(request);

        Assert.Contains(service.Logs.Records, record => record.EventId.Name == "InvalidTraceParent");
        Assert.Contains(service.Logs.Records, record => record.EventId.Name == "InvalidTraceState");
        Assert.DoesNotContain("SECRET", string.Join("\n", service.Logs.Records.Select(record => record.AllText)), StringComparison.Ordinal);
    }

    /// <summary>What one call of the service saw and sent: its own trace, and the header lines of its two calls.</summary>
    public sealed record Seen(ServiceView Service, string[][] TraceParents, string[][] TraceStates, string[][] Baggage);

    public sealed record ServiceView(string TraceId, string SpanId, string? ParentSpanId, string TraceParent);

    private static IEnumerable<string> Check(Row row, Seen seen)
    {
        var service = seen.Service;
        var incoming = row.TraceParents.FirstOrDefault() is { Length: >= 52 } first ? first : Valid;
        if (row.Continues ? service.TraceId != incoming[3..35] : service.TraceId == incoming[3..35])
        {
            yield return $"the service's trace id is {service.TraceId}";
        }

        var parentIds = new List<string>();
        for (var call = 0; call < 2; call++)
        {
            if (seen.TraceParents[call].Length != 1)
            {
                yield return $"call {call} carried {seen.TraceParents[call].Length} traceparent headers";
                continue;
            }

            var parent = seen.TraceParents[call][0];
            if (!System.Text.RegularExpressions.Regex.IsMatch(parent, "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"))
            {
                yield return $"call {call} carried traceparent {parent}";
                continue;
            }

            if (parent[3..35] != service.TraceId)
            {
                yield return $"call {call} carried trace id {parent[3..35]}, the service has {service.TraceId}";
            }

            var flags = parent[53..];
            var expectedFlags = row.Flags ?? service.TraceParent[53..];
            if (flags != expectedFlags)
            {
                yield return $"call {call} carried flags {flags}, expected {expectedFlags}";
            }

            parentIds.Add(parent[36..52]);
            var states = seen.TraceStates[call];
            if (row.TraceState is null ? states.Length != 0 : states.Length != 1 || states[0] != row.TraceState)
            {
                yield return $"call {call} carried tracestate [{string.Join(" | ", states)}], expected {row.TraceState ?? "none"}";
            }
        }

        if (parentIds.Contains(incoming[36..52]))
        {
            yield return "an outgoing call carried the caller's parent-id";
        }

        if (parentIds.Count == 2 && parentIds[0] == parentIds[1])
        {
            yield return "the two calls carried the same parent-id";
        }
    }

    private static async Task<Seen> CallAsync(TestApp service, HeaderRecorder downstream, string name, string[] traceParents, string[] traceStates, string? baggage = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/call/{name}");
        foreach (var value in traceParents)
        {
            request.Headers.TryAddWithoutValidation("traceparent", value); // each value its own header line
        }

        foreach (var value in traceStates)
        {
            request.Headers.TryAddWithoutValidation("tracestate", value);
        }

        if (baggage is not null)
        {
            request.Headers.TryAddWithoutValidation("baggage", baggage);
        }

        var response = await service.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var view = (await response.Content.ReadFromJsonAsync<ServiceView>())!;
        string[][] Lines(string header) => [downstream.Values($"/{name}/1", header), downstream.Values($"/{name}/2", header)];
        return new Seen(view, Lines("traceparent"), Lines("tracestate"), Lines("baggage"));
    }

    /// <summary>Sends a GET with the given header lines exactly as written, and returns the response body.</summary>
    private static async Task<string> RawGetAsync(TestApp service, string path, params string[] headerLines)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(service.BaseAddress.Host, service.BaseAddress.Port);
        var stream = tcp.GetStream();
        var request = $"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{string.Concat(headerLines.Select(line => line + "\r\n"))}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var response = await new StreamReader(stream, Encoding.UTF8).ReadToEndAsync();
        Assert.Matches("^HTTP/1.[01] 200 ", response);
        return response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }

    private static Task<TestApp> StartServiceAsync(Uri downstream, bool collectLogs, Action<RequestContextOptions>? configure = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call/{name}", async (string name, IHttpClientFactory factory) =>
                {
                    var client = factory.CreateClient("downstream");
                    (await client.GetAsync($"{name}/1")).EnsureSuccessStatusCode();
                    (await client.GetAsync($"{name}/2")).EnsureSuccessStatusCode();
                    var trace = RequestContext.Trace.Get()!;
                    return new ServiceView(trace.TraceId, trace.SpanId, trace.ParentSpanId, trace.ToString());
                });
                app.MapGet("/headers", (HttpRequest request) =>
                    $"{request.Headers.TraceParent}|{request.Headers.TraceState}|{request.Headers.Baggage}");
                app.MapGet("/trace", () => RequestContext.Trace.Get()!.ToString());
                app.MapGet("/fail", string () => throw new InvalidOperationException("boom"));
            },
            builder =>
            {
                if (configure is not null)
                {
                    builder.Services.AddRequestContext(configure);
                }

                builder.Services.AddHttpClient("downstream", client => client.BaseAddress = downstream).AddRequestContextPropagation();
            },
            kestrel: true,
            collectLogs: collectLogs);

    /// <summary>Listens to every source with a parent-based sampler: sampled parents are recorded, others propagated.</summary>
    private static ActivityListener ParentBasedListener()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = static (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Parent == default || (options.Parent.TraceFlags & ActivityTraceFlags.Recorded) != 0
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
