using System.Net;
using Microsoft.AspNetCore.Hosting;
using ContextMiddleware.Testing;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// Review probes: the outermost middleware's exception handling must not change what the server answers for
/// exceptions the server itself knows how to answer, and must log one exception once.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class ExceptionSeamTests
{
    [Theory]
    [InlineData(false)] // control: the same app without UseRequestContext()
    [InlineData(true)]
    public async Task RequestBodyTooLarge_IsAnswered413AsKestrelDoes_NotA500(bool useRequestContext)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                if (useRequestContext)
                {
                    app.UseRequestContext();
                }

                app.MapPost("/upload", async (HttpContext context) =>
                {
                    using var reader = new StreamReader(context.Request.Body);
                    return (await reader.ReadToEndAsync()).Length;
                });
            },
            builder => builder.WebHost.ConfigureKestrel(options => options.Limits.MaxRequestBodySize = 16),
            kestrel: true);

        var response = await app.Client.PostAsync("/upload", new StringContent(new string('x', 4096)));
        await SeamSupport.WaitForRequestFinishedAsync(app);

        var errors = SeamSupport.Errors(app);
        Assert.True(
            response.StatusCode == HttpStatusCode.RequestEntityTooLarge,
            $"useRequestContext={useRequestContext}: got {(int)response.StatusCode}; Error records: {SeamSupport.Describe(errors)}");
        Assert.DoesNotContain(errors, r => r.Message.Contains("the response is a 500", StringComparison.Ordinal));
    }

    // Without UseRequestContext() the framework logs this exception twice (the exception handler, then Kestrel the
    // wrapper): not the suite's to change, so only the suite's side is asserted.
    [Theory]
    [InlineData(true)]
    public async Task ExceptionHandlerWhosePathIsNotMapped_OneExceptionIsOneErrorRecord(bool useRequestContext)
    {
        // UseExceptionHandler("/error") with no /error endpoint: the handler answers 404, and ExceptionHandlerMiddleware
        // throws an InvalidOperationException that wraps the original.
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseExceptionHandler("/error");
                if (useRequestContext)
                {
                    app.UseRequestContext();
                }

                app.MapGet("/boom", string () => throw new InvalidOperationException("boom"));
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "req-missing-handler");

        var response = await app.Client.SendAsync(request);
        await SeamSupport.WaitForRequestFinishedAsync(app);
        await Task.Delay(200);

        var errors = SeamSupport.ErrorsWithException(app);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.True(errors.Count == 1, $"useRequestContext={useRequestContext}: one exception, {errors.Count} Error records: {SeamSupport.Describe(errors)}");
        Assert.Equal("req-missing-handler", errors[0].RequestId);
        Assert.Equal("req-missing-handler", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StatusCodePagesReExecute_404_CarriesTheRequestIdOnce(bool logging)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseStatusCodePagesWithReExecute("/status/{0}");
                app.UseRequestContext();
                app.MapGet("/status/{code}", (int code) => Results.Text($"status {code}", statusCode: code));
            },
            kestrel: true,
            collectLogs: logging);
        var request = new HttpRequestMessage(HttpMethod.Get, "/nothing-here");
        request.Headers.Add("X-Request-ID", "req-404");

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("req-404", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task EmptyResponseStartedByTheServer_AfterThePipeline_CarriesTheRequestId(bool logging)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/empty", (HttpContext context) => { context.Response.StatusCode = 204; });
            },
            kestrel: true,
            collectLogs: logging);
        var request = new HttpRequestMessage(HttpMethod.Get, "/empty");
        request.Headers.Add("X-Request-ID", "req-empty");

        var response = await app.Client.SendAsync(request);

        Assert.Equal("req-empty", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }
}
