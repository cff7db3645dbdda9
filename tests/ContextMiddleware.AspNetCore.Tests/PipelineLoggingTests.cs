using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// Every log event written while a request is processed carries that request's id, whatever category writes it and
/// wherever in the pipeline it is written, with the middleware orders real apps use (the framework's middleware placed
/// before <c>UseRequestContext()</c>, as the templates and the framework's docs place it).
/// </summary>
public class PipelineLoggingTests
{
    private const string HostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";

    [Fact]
    public async Task ExceptionHandlerBeforeRequestContext_ErrorRecordProblemDetailsAndHeader_CarryTheRequestId()
    {
        // Arrange: the template's order.
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseExceptionHandler("/error");
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
                app.Map("/error", () => Results.Problem("handled", statusCode: 500));
            },
            builder => builder.Services.AddProblemDetails(),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-eh");

        // Act
        var response = await app.Client.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("req-eh", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        Assert.Equal("req-eh", body.GetProperty("requestId").GetString());
        var handlerRecord = Assert.Single(app.Logs.Records, r => r.Level == LogLevel.Error && r.Category.Contains("ExceptionHandler", StringComparison.Ordinal));
        Assert.Equal("req-eh", handlerRecord.RequestId);
    }

    [Fact]
    public async Task ExceptionHandlerBeforeRequestContext_WithoutAnIncomingId_HeaderBodyAndErrorRecordAgree()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseExceptionHandler("/error");
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
                app.Map("/error", () => Results.Problem("handled", statusCode: 500));
            },
            builder => builder.Services.AddProblemDetails(),
            kestrel: true);

        var response = await app.Client.GetAsync("/boom");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        var header = Assert.Single(response.Headers.GetValues("X-Request-ID"));
        Assert.Equal(header, body.GetProperty("requestId").GetString());
        var handlerRecord = Assert.Single(app.Logs.Records, r => r.Level == LogLevel.Error && r.Category.Contains("ExceptionHandler", StringComparison.Ordinal));
        Assert.Equal(header, handlerRecord.RequestId);
    }

    [Fact]
    public async Task DeveloperExceptionPage_ItsErrorRecord_CarriesTheRequestId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            kestrel: true,
            environment: "Development");
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-dev");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var pageRecords = app.Logs.Records.Where(r => r.Category.Contains("DeveloperExceptionPage", StringComparison.Ordinal) && r.Level >= LogLevel.Error).ToList();
        Assert.All(pageRecords, r => Assert.Equal("req-dev", r.RequestId));
        Assert.All(app.Logs.Records.Where(r => r.Level >= LogLevel.Error), r => Assert.Equal("req-dev", r.RequestId));
    }

    [Fact]
    public async Task HostingRequestFinished_CarriesTheRequestId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/ok", () => "ok");
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-finished");

        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();

        var finished = await WaitForAsync(() => app.Logs.Records.SingleOrDefault(r => r.Category == HostingDiagnostics && r.EventId.Id == 2));
        Assert.Equal("req-finished", finished.RequestId);
    }

    [Fact]
    public async Task EveryRecordOfARequest_AnyCategory_CarriesTheRequestId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/ok", (ILogger<PipelineLoggingTests> logger) =>
                {
                    logger.LogInformation("Handled");
                    return "ok";
                });
            },
            Jwt.AddJwtBearer,
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/ok");
        request.Headers.Add("X-Request-ID", "req-every");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken("user-7", "Grace"));

        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        await WaitForAsync(() => app.Logs.Records.SingleOrDefault(r => r.Category == HostingDiagnostics && r.EventId.Id == 2));

        // Every record from "Request starting" to "Request finished", whoever wrote it.
        var records = app.Logs.Records.ToList();
        var start = records.FindIndex(r => r.Category == HostingDiagnostics && r.EventId.Id == 1);
        var end = records.FindIndex(r => r.Category == HostingDiagnostics && r.EventId.Id == 2);
        var during = records.Skip(start).Take(end - start + 1).ToList();
        var missing = during.Where(r => r.RequestId != "req-every").Select(r => $"{r.Category}/{r.EventId}: {r.Message} (RequestId={r.RequestId ?? "null"})").ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {during.Count} records lack the request id: {string.Join(" || ", missing)}");
    }

    [Fact]
    public async Task JsonConsole_EveryEventOfTheRequest_HasExactlyOneRequestIdKey_TheRequestsId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/json", (ILogger<PipelineLoggingTests> logger) =>
                {
                    logger.LogInformation("Handled json");
                    return "ok";
                });
            },
            builder => JsonConsoleCapture.AddTo(builder.Logging),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/json");
        request.Headers.Add("X-Request-ID", "req-json");

        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        var capture = app.App.Services.GetRequiredService<JsonConsoleCapture>();
        await WaitForAsync(() => capture.Events.FirstOrDefault(e => e.GetProperty("EventId").GetInt32() == 2 && e.GetProperty("Category").GetString() == HostingDiagnostics) is { ValueKind: JsonValueKind.Object } found ? (object)found : null);

        // The request's events: every one written under hosting's request scope for /json, and the handler's.
        var events = capture.Events.Where(e => HasPath(e, "/json") || e.GetProperty("Message").GetString() == "Handled json").ToList();
        Assert.Contains(events, e => e.GetProperty("Category").GetString() == HostingDiagnostics && e.GetProperty("EventId").GetInt32() == 2);
        Assert.Contains(events, e => e.GetProperty("Message").GetString() == "Handled json");
        var wrong = events
            .Select(e => (Event: e, Values: RequestIdValues(e)))
            .Where(x => x.Values.Count != 1 || x.Values[0] != "req-json")
            .Select(x => $"{x.Event.GetProperty("Category").GetString()}/{x.Event.GetProperty("EventId").GetInt32()}: RequestId=[{string.Join(", ", x.Values)}]")
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {events.Count} events do not have exactly one RequestId 'req-json': {string.Join(" || ", wrong)}");
    }

    [Fact]
    public async Task HttpLoggingBeforeRequestContext_ItsRecords_CarryTheRequestId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseHttpLogging();
                app.UseRequestContext();
                app.MapGet("/logged", () => "ok");
            },
            builder =>
            {
                builder.Services.AddHttpLogging(_ => { });
                JsonConsoleCapture.AddTo(builder.Logging);
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/logged");
        request.Headers.Add("X-Request-ID", "req-httplog");

        (await app.Client.SendAsync(request)).EnsureSuccessStatusCode();
        var capture = app.App.Services.GetRequiredService<JsonConsoleCapture>();
        await WaitForAsync(() => capture.Events.FirstOrDefault(e => e.GetProperty("EventId").GetInt32() == 2 && e.GetProperty("Category").GetString() == HostingDiagnostics) is { ValueKind: JsonValueKind.Object } found ? (object)found : null);

        var httpLogs = capture.Events.Where(e => e.GetProperty("Category").GetString()!.StartsWith("Microsoft.AspNetCore.HttpLogging", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(httpLogs);
        Assert.All(httpLogs, e =>
        {
            var values = RequestIdValues(e);
            Assert.NotEmpty(values);
            Assert.All(values, value => Assert.Equal("req-httplog", value));
        });
    }

    [Fact]
    public async Task KestrelUnhandledExceptionRecord_WithLogUnhandledExceptionsOff_CarriesTheRequestId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            builder => builder.Services.AddRequestContext(options => options.LogUnhandledExceptions = false),
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-kestrel");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var record = await WaitForAsync(() => app.Logs.Records.FirstOrDefault(r => r.Exception is InvalidOperationException));
        Assert.Equal("req-kestrel", record.RequestId);
    }

    private static bool HasPath(JsonElement logEvent, string path) =>
        logEvent.TryGetProperty("Scopes", out var scopes) &&
        scopes.EnumerateArray().Any(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("RequestPath", out var p) && p.GetString() == path);

    /// <summary>Every RequestId key of the event's scopes and state, outermost first.</summary>
    private static List<string?> RequestIdValues(JsonElement logEvent)
    {
        var values = new List<string?>();
        if (logEvent.TryGetProperty("State", out var state) && state.ValueKind == JsonValueKind.Object && state.TryGetProperty("RequestId", out var fromState))
        {
            values.Add(fromState.ToString());
        }

        if (logEvent.TryGetProperty("Scopes", out var scopes))
        {
            foreach (var scope in scopes.EnumerateArray())
            {
                if (scope.ValueKind == JsonValueKind.Object)
                {
                    values.AddRange(scope.EnumerateObject().Where(p => p.Name == "RequestId").Select(p => (string?)p.Value.ToString()));
                }
            }
        }

        return values;
    }

    private static async Task<T> WaitForAsync<T>(Func<T?> find)
        where T : class
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (find() is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the log record");
            await Task.Delay(20);
        }
    }
}
