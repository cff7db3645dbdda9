using System.Net;
using System.Net.Http.Headers;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests;

public class ExceptionTests
{
    [Theory]
    [InlineData(false, "Production")]
    [InlineData(true, "Production")]
    [InlineData(false, "Development")]
    public async Task UnhandledException_ResponseCarriesTheRequestId_AndTheLogCarriesTheContext(bool kestrel, string environment)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            Jwt.AddJwtBearer,
            kestrel,
            environment);

        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-boom");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken("user-9", "Eve"));
        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("req-boom", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        // One Error record for the exception, whoever writes it: ours, or the developer exception page's.
        var record = Assert.Single(app.Logs.Records, record => record.Level >= LogLevel.Error && record.Exception is not null);
        Assert.Equal(LogLevel.Error, record.Level);
        Assert.IsType<InvalidOperationException>(record.Exception);
        Assert.Equal("req-boom", record.RequestId);
        Assert.Equal("user-9", record.UserId);
        Assert.Matches("^[0-9a-f]{32}$", record.TraceId);
    }

    [Fact]
    public async Task ExceptionHandler_AfterRequestContext_ReExecutesWithTheSameIdAndNoDuplicateHeader()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseExceptionHandler("/error");
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
                app.Map("/error", () => Results.Problem("handled", statusCode: 500));
            },
            builder => builder.Services.AddProblemDetails());

        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-handled");
        var response = await app.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("req-handled", Assert.Single(response.Headers.GetValues("X-Request-ID")));
        Assert.Contains("\"requestId\":\"req-handled\"", body, StringComparison.Ordinal);

        // The exception handler runs inside the request's context, so its own log record carries the id too.
        var handlerLog = Assert.Single(app.Logs.Records, record => record.Exception is InvalidOperationException && record.Category.Contains("ExceptionHandler", StringComparison.Ordinal));
        Assert.Equal("req-handled", handlerLog.RequestId);
    }

    [Fact]
    public async Task ExceptionHandler_BeforeRequestContext_StillEchoesTheId()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseExceptionHandler("/error");
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
                app.Map("/error", () => Results.Problem("handled", statusCode: 500));
            },
            builder => builder.Services.AddProblemDetails());

        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-outer");
        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("req-outer", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Fact]
    public async Task UnhandledException_IsLoggedOnce_WithTheContext()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            kestrel: true);

        await app.Client.GetAsync("/boom");

        var record = Assert.Single(app.Logs.Records, record => record.Exception is InvalidOperationException);
        Assert.NotNull(record.RequestId);
    }

    [Fact]
    public async Task LogUnhandledExceptions_Off_LeavesTheErrorToTheServer()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            builder => builder.Services.AddRequestContext(options => options.LogUnhandledExceptions = false),
            kestrel: true);

        var response = await app.Client.GetAsync("/boom");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.DoesNotContain(app.Logs.Records, record => record.Category.StartsWith("ContextMiddleware", StringComparison.Ordinal) && record.Exception is not null);
        Assert.Contains(app.Logs.Records, record => record.Exception is InvalidOperationException); // the server's own log
    }
}
