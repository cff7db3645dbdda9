using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Seams of sampled-out requests, the server's own bad-request answers, IncomingCallSource.TrustFailure and reloads after an unreadable one.</summary>
[Collection(ActivityListenerCollection.Name)]
public class SampledOutAndBadRequestSeamTests
{
    private const string CallerTraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    private sealed class AlwaysThrowingPolicy : IRequestContextTrustPolicy
    {
        public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
            throw new InvalidOperationException("policy store unavailable");
    }

    // Claim 2: "trace-header records are written even when hosting extracted but its Activity was sampled out". the earlier probe's
    // probe filtered hosting's logging category. With hosting's logging on (the default), a listener that samples the
    // request out makes hosting's ActivityCreator.CreateFromRemote call ExtractTraceIdAndState a SECOND time (its
    // "activity is null && diagnosticsOrLoggingEnabled" fallback) on the headers the first call already normalised: the
    // second call overwrites the [ThreadStatic] pending outcome with "nothing wrong", and the start event logs that.
    [Theory]
    [InlineData("untrusted", "UntrustedTraceContext")]
    [InlineData("invalid", "InvalidTraceParent")]
    public async Task TraceHeaderRecord_IsWritten_WhenAListenerSamplesHostingOut_AndHostingLogsAreOn(string kind, string eventName)
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == "Microsoft.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
        };
        ActivitySource.AddActivityListener(listener);

        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => "ok");
            },
            builder =>
            {
                if (kind == "untrusted")
                {
                    builder.Services.AddRequestContext(options => options.IncomingTraceContext = RequestContextTrust.Ignore);
                }
                else
                {
                    builder.Services.AddRequestContext(options => options.IncomingRequestIds = RequestContextTrust.Trust);
                }
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-sampled-out");
        request.Headers.TryAddWithoutValidation("traceparent", kind == "untrusted" ? CallerTraceParent : "00-not-a-valid-traceparent");

        var response = await app.Client.SendAsync(request);
        await SeamSupport.WaitForRequestFinishedAsync(app);
        await Task.Delay(200);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var records = app.Logs.Records.Where(r => r.EventId.Name == eventName).ToList();
        Assert.True(
            records.Count == 1,
            $"{kind} traceparent, hosting sampled out by a listener, hosting logs on: {records.Count} {eventName} records. " +
            $"All records of the request: {SeamSupport.Describe(app.Logs.Records.Where(r => r.RequestId == "req-sampled-out"))}");
    }

    // Same as above with a real OpenTelemetry SDK and its AlwaysOff sampler (severity gauge: does the common setup hit it?).
    [Fact]
    public async Task UntrustedTraceparent_IsRecorded_WithOpenTelemetryAlwaysOffSampler()
    {
        using var tracer = Sdk.CreateTracerProviderBuilder()
            .AddSource("Microsoft.AspNetCore")
            .SetSampler(new AlwaysOffSampler())
            .Build();

        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => "ok");
            },
            builder => builder.Services.AddRequestContext(options => options.IncomingTraceContext = RequestContextTrust.Ignore),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-otel-off");
        request.Headers.Add("traceparent", CallerTraceParent);

        var response = await app.Client.SendAsync(request);
        await SeamSupport.WaitForRequestFinishedAsync(app);
        await Task.Delay(200);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var records = app.Logs.Records.Where(r => r.EventId.Name == "UntrustedTraceContext").ToList();
        Assert.True(records.Count == 1, $"OpenTelemetry AlwaysOff: {records.Count} UntrustedTraceContext records: {SeamSupport.Describe(records)}");
    }

    // Claim 5: "BadHttpRequestException is answered ... as the server would". Kestrel answers a request whose chunked body
    // is malformed with 400 and "Connection: close" (SetBadRequestState disables keep-alive before the response is
    // produced). The suite now swallows the exception, so Kestrel produces a keep-alive 400 and only afterwards (draining
    // the body, the parser throws again) closes the connection: the client was told it could reuse a connection the
    // server then drops. The control (LogUnhandledExceptions = false) is Kestrel's own answer.
    [Theory]
    [InlineData(false)] // control: left to Kestrel
    [InlineData(true)]  // answered by the suite
    public async Task MalformedChunkedBody_400_TellsTheClientTheConnectionCloses(bool suiteAnswers)
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
            builder => builder.Services.AddRequestContext(options => options.LogUnhandledExceptions = suiteAnswers),
            kestrel: true);

        var raw = await RawExchangeAsync(
            app.BaseAddress,
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Request-ID: req-bad-chunk\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", raw.Response, StringComparison.Ordinal);
        Assert.True(
            raw.Response.Contains("Connection: close", StringComparison.OrdinalIgnoreCase) || !raw.ServerClosed,
            $"suiteAnswers={suiteAnswers}: the server closed the connection after a 400 that did not say so:\n{raw.Response}");
    }

    // Claim 5, app-thrown: minimal APIs (RouteHandlerOptions.ThrowOnBadRequest) and apps throw BadHttpRequestException
    // themselves. Kestrel answers it 400 and closes the connection (Connection: close); the suite keeps it alive.
    // "as the server would" is not what happens on the wire.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AppThrownBadHttpRequestException_IsAnsweredAsKestrelWould_ConnectionClose(bool suiteAnswers)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/bad", string () => throw new BadHttpRequestException("the query is malformed", 400));
            },
            builder => builder.Services.AddRequestContext(options => options.LogUnhandledExceptions = suiteAnswers),
            kestrel: true);

        var raw = await RawExchangeAsync(app.BaseAddress, "GET /bad HTTP/1.1\r\nHost: x\r\nX-Request-ID: req-app-bad\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", raw.Response, StringComparison.Ordinal);
        Assert.True(
            raw.Response.Contains("Connection: close", StringComparison.OrdinalIgnoreCase),
            $"suiteAnswers={suiteAnswers}: Kestrel's own answer to a BadHttpRequestException closes the connection; this one:\n{raw.Response}");
    }

    // Claim 1 / public API: IncomingCallSource.TrustFailure "Gets the exception the trust policy threw when the transport
    // asked it about this call's trace headers before the call began". For the HTTP call it reads null as soon as
    // BeginCall returned (Begin clears the field it shares with the final principal): a transport or app that asks the
    // current call, as the property's documentation invites, is told the policy did not fail.
    [Fact]
    public async Task IncomingCallSourceTrustFailure_ReadsTheFailure_DuringTheRequest()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/failure", () => IncomingCallSource.Current?.TrustFailure?.Message ?? "null");
            },
            builder =>
            {
                builder.Services.AddSingleton<IRequestContextTrustPolicy>(new AlwaysThrowingPolicy());
                builder.Services.AddHttpContextAccessor();
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/failure");
        request.Headers.Add("traceparent", CallerTraceParent);

        var seen = await (await app.Client.SendAsync(request)).Content.ReadAsStringAsync();
        await SeamSupport.WaitForRequestFinishedAsync(app);

        Assert.Single(app.Logs.Records, r => r.EventId.Name == "TrustPolicyFailed");
        Assert.True(seen == "policy store unavailable", $"the policy failed for this call (one TrustPolicyFailed record), yet IncomingCallSource.Current.TrustFailure reads: {seen}");
    }

    // Claim 3: "empty after a list was in force = no host". An app that never had a list (the default: every host) and
    // whose RequestContext section is unreadable for one reload (a typo in any key, say MaxRequestIdLength = "12o", fixed
    // a minute later) never gets "every host" back: the unreadable reload set DestinationPolicy.None, and the fixed reload's
    // empty list is then taken for "a list that disappeared" (Warning AllowListEmptiedOnReload). No list was ever in
    // force; outgoing calls silently stop carrying the request id until a restart.
    [Fact]
    public async Task AppWithoutAllowList_AfterAnUnreadableReloadIsFixed_PropagatesToEveryHostAgain()
    {
        var source = new ReplaceableConfigurationSource();
        source.Replace(new() { ["RequestContext:MaxRequestIdLength"] = "128" });
        await using var downstream = new HeaderRecorder();
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/call/{n}", async (string n, IHttpClientFactory factory) =>
                    (int)(await factory.CreateClient("any").GetAsync($"/seen{n}")).StatusCode);
            },
            builder =>
            {
                ((IConfigurationBuilder)builder.Configuration).Add(source);
                builder.Services.AddHttpClient("any", client => client.BaseAddress = downstream.BaseAddress)
                    .AddRequestContextPropagation();
            },
            kestrel: true);

        Assert.Equal("200", await app.Client.GetStringAsync("/call/1"));
        Assert.Single(downstream.Values("/seen1", "X-Request-ID")); // every host, as configured (no list)

        source.Replace(new() { ["RequestContext:MaxRequestIdLength"] = "12o" }); // a typo: the section cannot be bound
        await Task.Delay(300);
        source.Replace(new() { ["RequestContext:MaxRequestIdLength"] = "128" }); // fixed: the configuration the app started with
        await Task.Delay(300);

        Assert.Equal("200", await app.Client.GetStringAsync("/call/2"));
        var warnings = app.Logs.Records.Where(r => r.EventId.Name is "AllowListEmptiedOnReload" or "Reloaded" or "InvalidReload").ToList();
        Assert.True(
            downstream.Values("/seen2", "X-Request-ID").Length == 1,
            $"the configuration is back to what the app started with (no allow-list: every host), yet the request id is no longer sent. Records: {SeamSupport.Describe(warnings)}");
    }

    private sealed record Raw(string Response, bool ServerClosed);

    /// <summary>Sends raw bytes on a fresh connection, reads the first response, then whether the server closes within 2 s.</summary>
    private static async Task<Raw> RawExchangeAsync(Uri baseAddress, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        var buffer = new byte[16 * 1024];
        var length = 0;
        var closed = false;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (Encoding.ASCII.GetString(buffer, 0, length).IndexOf("\r\n\r\n", StringComparison.Ordinal) < 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token);
            if (read == 0)
            {
                closed = true;
                break;
            }

            length += read;
        }

        var text = Encoding.ASCII.GetString(buffer, 0, length);
        if (!closed)
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                while (true)
                {
                    var read = await stream.ReadAsync(buffer, wait.Token);
                    if (read == 0)
                    {
                        closed = true;
                        break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (IOException)
            {
                closed = true;
            }
        }

        return new Raw(text, closed);
    }
}
