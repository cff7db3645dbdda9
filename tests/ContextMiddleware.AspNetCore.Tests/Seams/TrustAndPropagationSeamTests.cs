using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Seams of trust and propagation: a failing policy logged once, a reload that loses the allow-list, redirects, the refusal message, AddRequestContext without UseRequestContext, a 413 with the request id.</summary>
[Collection(ActivityListenerCollection.Name)]
public class TrustAndPropagationSeamTests
{
    private const string CallerTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>A policy whose store is down: every question throws (the realistic way a policy fails).</summary>
    private sealed class AlwaysThrowingPolicy : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            throw new InvalidOperationException("policy store unavailable");
    }

    // Claim 3: "exactly one Error record TrustPolicyFailed". A policy that throws for every question (its store is
    // down) costs one request two Error records on both paths: one for the trace headers, one for the request id.
    [Theory]
    [InlineData(true)]  // hosting hook path
    [InlineData(false)] // middleware path (hosting's category filtered)
    public async Task PolicyThrowingForEveryValue_OneRequest_IsOneTrustPolicyFailedRecord(bool hostingLogs)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => RequestContext.RequestId.Get());
            },
            builder =>
            {
                builder.Services.AddSingleton<IRequestContextTrustPolicy>(new AlwaysThrowingPolicy());
                builder.Services.AddHttpContextAccessor();
                if (!hostingLogs)
                {
                    builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
                }
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-policy-down");
        request.Headers.Add("traceparent", CallerTraceParent);

        var response = await app.Client.SendAsync(request);
        await SeamSupport.WaitUntilAsync(() => SeamSupport.Errors(app).Count > 0);
        await Task.Delay(300);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var failures = app.Logs.Records.Where(r => r.EventId.Name == "TrustPolicyFailed").ToList();
        Assert.True(
            failures.Count == 1,
            $"hostingLogs={hostingLogs}: one broken policy, one request, {failures.Count} TrustPolicyFailed records: {SeamSupport.Describe(failures)}");
    }

    // Claim 4: trace-header records are written once the request's context began. When hosting's ActivitySource has
    // a listener whose sampler drops the request (OpenTelemetry with a ratio sampler) and hosting's logging category is
    // filtered, hosting extracts (and normalises the headers, parking the outcome in the [ThreadStatic]) but starts no
    // Activity, so no start event takes the outcome; the middleware then extracts again from the already-normalised
    // headers and finds nothing to report: the UntrustedTraceContext record is lost.
    [Theory]
    [InlineData(false)] // control: nothing listens to hosting's source (middleware path, record written)
    [InlineData(true)]  // a sampler drops hosting's Activity
    public async Task UntrustedTraceparent_IsRecorded_WhenHostingsActivityIsSampledOut(bool samplerDropsHostingActivity)
    {
        using var listener = samplerDropsHostingActivity
            ? new ActivityListener
            {
                ShouldListenTo = static source => source.Name == "Microsoft.AspNetCore",
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            }
            : null;
        if (listener is not null)
        {
            ActivitySource.AddActivityListener(listener);
        }

        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => "ok");
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.IncomingTraceContext = RequestContextTrust.Ignore);
                builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-untrusted-trace");
        request.Headers.Add("traceparent", CallerTraceParent);

        var response = await app.Client.SendAsync(request);
        await Task.Delay(300);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var records = app.Logs.Records.Where(r => r.EventId.Name == "UntrustedTraceContext").ToList();
        Assert.True(
            records.Count == 1 && records[0].RequestId == "req-untrusted-trace",
            $"samplerDropsHostingActivity={samplerDropsHostingActivity}: {records.Count} UntrustedTraceContext records: {SeamSupport.Describe(records)}");
    }

    // Claim 8: reloads fail closed. A reload that loses the list (a JSON file being replaced is reloaded as empty by the
    // file provider, which treats every file as optional on reload; a deleted section) turns the allow-list into
    // "every host": the request id and trace headers start flowing to third parties.
    [Fact]
    public async Task ReloadThatLosesTheAllowList_DoesNotStartSendingTheContextToEveryHost()
    {
        var source = new ReplaceableConfigurationSource();
        source.Replace(new() { ["RequestContext:PropagationAllowedHosts:0"] = "api.internal.example" });
        await using var downstream = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call/{n}", async (string n, IHttpClientFactory factory) =>
                    (int)(await factory.CreateClient("third-party").GetAsync($"/seen{n}")).StatusCode);
            },
            builder =>
            {
                ((IConfigurationBuilder)builder.Configuration).Add(source);
                builder.Services.AddHttpClient("third-party", client => client.BaseAddress = downstream.BaseAddress)
                    .AddRequestContextPropagation();
            },
            kestrel: true);

        Assert.Equal("200", await app.Client.GetStringAsync("/call/1"));
        Assert.Empty(downstream.Values("/seen1", "X-Request-ID")); // 127.0.0.1 is not allowed

        source.Replace(new()); // the configuration reloads without the section
        await Task.Delay(300);

        Assert.Equal("200", await app.Client.GetStringAsync("/call/2"));
        var leaked = downstream.Requests["/seen2"]
            .Where(line => line.Name is "X-Request-ID" or "traceparent")
            .Select(line => $"{line.Name}: {line.Value}")
            .ToList();
        Assert.True(
            leaked.Count == 0,
            $"after a reload that lost PropagationAllowedHosts, a host that was never allowed received: {string.Join("; ", leaked)}");
    }

    // Claim 6 / README "other hosts get none at all": an allowed host that redirects to a host outside the allow-list.
    // SocketsHttpHandler follows the redirect with the same request message, which PropagationHandler already gave the
    // request id: it reaches the disallowed host.
    [Fact]
    public async Task RedirectFromAnAllowedHost_ToAHostOutsideTheAllowList_CarriesNoContext()
    {
        await using var downstream = new HeaderRecorder();
        var outside = $"http://localhost:{downstream.BaseAddress.Port}/seen";
        Uri? self = null;
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/redirect", () => Results.Redirect(outside));
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                    (int)(await factory.CreateClient("allowed").GetAsync(new Uri(self!, "/redirect"))).StatusCode);
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.PropagationAllowedHosts.Add("127.0.0.1"));
                builder.Services.AddHttpClient("allowed").AddRequestContextPropagation();
            },
            kestrel: true);
        self = app.BaseAddress;
        var request = new HttpRequestMessage(HttpMethod.Get, "/call");
        request.Headers.Add("traceparent", CallerTraceParent);

        Assert.Equal("200", await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync());

        var leaked = downstream.Requests["/seen"]
            .Where(line => line.Name is "X-Request-ID" or "traceparent" or "tracestate")
            .Select(line => $"{line.Name}: {line.Value}")
            .ToList();
        Assert.True(leaked.Count == 0, $"localhost is not in PropagationAllowedHosts, yet after a redirect it received: {string.Join("; ", leaked)}");
    }

    // Claim 5: "an InvalidOperationException wrapping the exception UseExceptionHandler already logged is not logged
    // again". The rule also swallows the original exception when the handler itself throws: .NET 10's exception
    // handler logs only the handler's exception then, and rethrows the original, which the suite then does not log.
    [Fact]
    public async Task ExceptionHandlerThatThrows_TheOriginalExceptionIsLoggedOnce()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = _ => throw new InvalidOperationException("handler broke") });
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new ApplicationException("boom"));
            },
            kestrel: true);

        var response = await app.Client.GetAsync("/boom");
        await SeamSupport.WaitForRequestFinishedAsync(app);
        await Task.Delay(200);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var errors = SeamSupport.ErrorsWithException(app);
        var original = errors.Count(r => r.Exception is ApplicationException || r.Exception?.InnerException is ApplicationException);
        Assert.True(original == 1, $"the endpoint's exception is in {original} Error records: {SeamSupport.Describe(errors)}");
    }

    // Claim 5 / README "X-Request-ID on every response": the 413 Kestrel answers once the suite leaves
    // BadHttpRequestException to it carries no request id.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RequestBodyTooLarge_413_CarriesTheRequestId(bool hostingLogs)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapPost("/upload", async (HttpContext context) =>
                {
                    using var reader = new StreamReader(context.Request.Body);
                    return (await reader.ReadToEndAsync()).Length;
                });
            },
            builder =>
            {
                builder.WebHost.ConfigureKestrel(options => options.Limits.MaxRequestBodySize = 16);
                if (!hostingLogs)
                {
                    builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
                }
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Post, "/upload") { Content = new StringContent(new string('x', 4096)) };
        request.Headers.Add("X-Request-ID", "req-too-large");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True(response.Headers.Contains("X-Request-ID"), $"hostingLogs={hostingLogs}: the 413 carries no X-Request-ID");
    }

    public sealed record Compared(string? ActivityParentId, string? ActivityTraceState, string? RuntimeTraceParent, string? RuntimeTraceState);

    // Claim 2 / README: "UseRequestContext() not called | requests are left as they are: the trace headers are read as
    // the runtime's W3C propagator reads them". They are read by ContextMiddleware's propagator, which differs.
    [Theory]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "a=1,b c=2")]
    [InlineData("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra", "")]
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k0=v,k1=v,k2=v,k3=v,k4=v,k5=v,k6=v,k7=v,k8=v,k9=v,k10=v,k11=v,k12=v,k13=v,k14=v,k15=v,k16=v,k17=v,k18=v,k19=v,k20=v,k21=v,k22=v,k23=v,k24=v,k25=v,k26=v,k27=v,k28=v,k29=v,k30=v,k31=v,k32=v,k33=v")]
    public async Task WithoutUseRequestContext_TraceHeadersAreReadAsTheRuntimeReadsThem(string traceParent, string traceState)
    {
        await using var app = await TestApp.StartAsync(
            app => app.MapGet("/seen", (HttpContext context) =>
            {
                DistributedContextPropagator.Current.ExtractTraceIdAndState(
                    context.Request.Headers,
                    static (object? carrier, string name, out string? value, out IEnumerable<string>? values) =>
                    {
                        values = null;
                        value = ((IHeaderDictionary)carrier!)[name];
                    },
                    out var runtimeParent,
                    out var runtimeState);
                return new Compared(Activity.Current?.ParentId, Activity.Current?.TraceStateString, runtimeParent, runtimeState);
            }),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/seen");
        request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        if (traceState.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("tracestate", traceState);
        }

        var seen = (await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<Compared>())!;

        Assert.True(
            seen.ActivityParentId == seen.RuntimeTraceParent && (seen.ActivityTraceState ?? "") == (seen.RuntimeTraceState ?? ""),
            $"request Activity: parent={seen.ActivityParentId} tracestate={seen.ActivityTraceState}; the runtime's propagator: parent={seen.RuntimeTraceParent} tracestate={seen.RuntimeTraceState}");
    }

    // Claim 6's error message: a SocketsHttpHandler configured after AddRequestContextPropagation() (the order of two
    // builder calls) is refused, with a message telling the app to use the SocketsHttpHandler it already uses.
    [Fact]
    public async Task SocketsHttpHandlerConfiguredAfterPropagation_IsNotRefusedWithAMessageToUseASocketsHttpHandler()
    {
        await using var downstream = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call", async (IHttpClientFactory factory) =>
                {
                    try
                    {
                        return ((int)(await factory.CreateClient("third-party").GetAsync("/seen")).StatusCode).ToString();
                    }
                    catch (InvalidOperationException exception)
                    {
                        return exception.Message;
                    }
                });
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.PropagationAllowedHosts.Add("api.internal.example"));
                builder.Services.AddHttpClient("third-party", client => client.BaseAddress = downstream.BaseAddress)
                    .AddRequestContextPropagation()
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseCookies = false });
            },
            kestrel: true);

        var outcome = await app.Client.GetStringAsync("/call");

        Assert.True(
            outcome == "200" || !outcome.Contains("Use a SocketsHttpHandler", StringComparison.Ordinal),
            $"the primary handler is a SocketsHttpHandler, and the refusal says: {outcome}");
    }
}
