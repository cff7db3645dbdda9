using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Serilog;
using Serilog.Events;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.Serilog.Tests;

/// <summary>
/// The claims of docs/pipeline-order.md, one request each: an authenticated <c>GET /boom</c> whose handler logs and
/// throws, on Kestrel (127.0.0.1), with the middleware in the order a test names, and Serilog's real output
/// (CompactJsonFormatter, parsed back) configured as the page's Program.cs configures it.
/// </summary>
public class PipelineOrderDocTests
{
    private const string RequestId = "req-order";
    private const string UserId = "user-1";
    private const string Completion = "Serilog.AspNetCore.RequestLoggingMiddleware";
    private const string HttpLogging = "Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware";
    private const string ExceptionHandler = "Microsoft.AspNetCore.Diagnostics.ExceptionHandlerMiddleware";
    private const string DeveloperExceptionPage = "Microsoft.AspNetCore.Diagnostics.DeveloperExceptionPageMiddleware";
    private const string Ours = "ContextMiddleware.AspNetCore.Internal.Pipeline.RequestContextMiddleware";

    /// <summary>The page's recommended order.</summary>
    private const string Recommended = "SerilogRequestLogging HttpLogging ExceptionHandler RequestContext Authentication";

    [Fact]
    public async Task RecommendedOrder_FailingRequest_ProblemDetailsAndEveryEventCarryTheRequestsIds_ExceptionLoggedOnce()
    {
        // Arrange
        var output = new SerilogOutput();

        // Act
        var result = await SendAsync(output, Recommended);

        // Assert: what the client gets.
        Assert.Equal(HttpStatusCode.InternalServerError, result.Status);
        Assert.Equal("application/problem+json", result.ContentType);
        Assert.Equal(RequestId, result.Header);
        Assert.Equal(RequestId, result.Body!.Value.GetProperty("requestId").GetString());

        // Every event of the request carries its request id and trace id (the one of the event's own Activity).
        var events = RequestEvents(output);
        Assert.NotEmpty(events);
        var wrong = events.Where(e => Property(e, "RequestId") != RequestId || Property(e, "TraceId") != Property(e, "@tr"))
            .Select(Describe)
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {events.Count} events lack the request's ids: {string.Join(" || ", wrong)}");

        // The exception is on one event, the exception handler's, with the user.
        var error = Assert.Single(events, e => Property(e, "@x") is not null);
        Assert.Equal(ExceptionHandler, Property(error, "SourceContext"));
        Assert.Equal(UserId, Property(error, "UserId"));

        // The completion event and HttpLogging's response record describe the response the client got.
        var completion = Assert.Single(events, e => Property(e, "SourceContext") == Completion);
        Assert.Equal("500", Property(completion, "StatusCode"));
        Assert.Equal("Error", Property(completion, "@l"));
        Assert.Equal(UserId, Property(completion, "UserId"));
        var httpResponse = Assert.Single(events, e => Property(e, "SourceContext") == HttpLogging && Property(e, "StatusCode") is not null);
        Assert.Equal("500", Property(httpResponse, "StatusCode"));
        Assert.Equal(RequestId, Property(httpResponse, "X-Request-ID"));

        // A header HttpLogging is not told to show is redacted: the request's X-Request-ID here.
        var httpRequest = Assert.Single(events, e => Property(e, "SourceContext") == HttpLogging && Property(e, "Method") == "GET");
        Assert.Equal("[Redacted]", Property(httpRequest, "X-Request-ID"));
    }

    [Theory]
    [InlineData("RequestContext SerilogRequestLogging HttpLogging ExceptionHandler Authentication")]
    [InlineData(Recommended)]
    [InlineData("SerilogRequestLogging HttpLogging ExceptionHandler Authentication RequestContext")]
    [InlineData("ExceptionHandler SerilogRequestLogging HttpLogging RequestContext Authentication")] // the templates' place for the handler
    [InlineData("ExceptionHandler SerilogRequestLogging HttpLogging Authentication RequestContext")]
    [InlineData("Authentication RequestContext SerilogRequestLogging HttpLogging ExceptionHandler")]
    public async Task UseRequestContextAnywhere_HeaderProblemDetailsUserAndEveryEvent_CarryTheRequestsIds(string order)
    {
        // Arrange
        var output = new SerilogOutput();

        // Act
        var result = await SendAsync(output, order);

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, result.Status);
        Assert.Equal(RequestId, result.Header);
        Assert.Equal(RequestId, result.Body!.Value.GetProperty("requestId").GetString());
        var events = RequestEvents(output);
        Assert.Contains(events, e => Property(e, "SourceContext") == Completion);
        Assert.Contains(events, e => Property(e, "SourceContext") == HttpLogging);
        Assert.Contains(events, e => Property(e, "SourceContext") == ExceptionHandler);
        var wrong = events.Where(e => Property(e, "RequestId") != RequestId || Property(e, "TraceId") != Property(e, "@tr"))
            .Select(Describe)
            .ToList();
        Assert.True(wrong.Count == 0, $"{order}: {wrong.Count} of {events.Count} events lack the request's ids: {string.Join(" || ", wrong)}");

        // The handler's ICurrentUser, and the events written from the handler on, see the authenticated user.
        var handler = Assert.Single(events, e => Property(e, "@mt") == "Handling boom for {Who}");
        Assert.Equal(UserId, Property(handler, "Who"));
        Assert.All(events.Where(e => Property(e, "@x") is not null || Property(e, "SourceContext") == Completion), e => Assert.Equal(UserId, Property(e, "UserId")));
    }

    [Theory]
    [InlineData(Recommended, "Production", ExceptionHandler)]
    [InlineData("ExceptionHandler SerilogRequestLogging HttpLogging RequestContext Authentication", "Production", Completion + " " + ExceptionHandler)]
    [InlineData("SerilogRequestLogging HttpLogging RequestContext Authentication", "Production", Completion + " " + Ours)]
    [InlineData("HttpLogging RequestContext Authentication", "Production", Ours)]
    [InlineData("SerilogRequestLogging HttpLogging RequestContext Authentication", "Development", Completion + " " + DeveloperExceptionPage)]
    public async Task TheEventsThatCarryTheException_DependOnWhereRequestLoggingSits_AllCarryTheRequestsIds(string order, string environment, string expected)
    {
        // Arrange
        var output = new SerilogOutput();

        // Act
        var result = await SendAsync(output, order, environment);

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, result.Status);
        Assert.Equal(RequestId, result.Header);
        var withException = RequestEvents(output).Where(e => Property(e, "@x") is not null).ToList();
        Assert.Equal(expected.Split(' ').Order(), withException.Select(e => Property(e, "SourceContext")).Order());
        Assert.All(withException, e =>
        {
            Assert.StartsWith("System.InvalidOperationException: boom", Property(e, "@x"), StringComparison.Ordinal);
            Assert.Equal(RequestId, Property(e, "RequestId"));
            Assert.Equal(Property(e, "@tr"), Property(e, "TraceId"));
            Assert.Equal(UserId, Property(e, "UserId"));
        });
    }

    [Fact]
    public async Task NoExceptionHandler_Production_ClientGetsAnEmpty500WithTheRequestId()
    {
        // Arrange
        var output = new SerilogOutput();

        // Act
        var result = await SendAsync(output, "SerilogRequestLogging HttpLogging RequestContext Authentication");

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, result.Status);
        Assert.Equal(RequestId, result.Header);
        Assert.Equal(string.Empty, result.RawBody);
    }

    [Theory]
    [InlineData(Recommended, "500", RequestId)]
    [InlineData("ExceptionHandler SerilogRequestLogging HttpLogging RequestContext Authentication", "200", null)]
    public async Task HttpLoggingResponseRecord_OutsideTheExceptionHandlerLogsTheErrorResponse_InsideItLogsA200WithoutHeaders(
        string order, string expectedStatus, string? expectedHeader)
    {
        // Arrange
        var output = new SerilogOutput();

        // Act
        var result = await SendAsync(output, order);

        // Assert: the client got a 500 either way; HttpLogging's record says what it saw.
        Assert.Equal(HttpStatusCode.InternalServerError, result.Status);
        var httpResponse = Assert.Single(RequestEvents(output), e => Property(e, "SourceContext") == HttpLogging && Property(e, "StatusCode") is not null);
        Assert.Equal(expectedStatus, Property(httpResponse, "StatusCode"));
        Assert.Equal(expectedHeader, Property(httpResponse, "X-Request-ID"));
        Assert.Equal(RequestId, Property(httpResponse, "RequestId"));
    }

    [Theory]
    [InlineData(Recommended, null)]
    [InlineData("Authentication SerilogRequestLogging HttpLogging ExceptionHandler RequestContext", UserId)]
    public async Task UserId_OnlyOnEventsWrittenAfterAuthenticationRan_TheEndpointsAlways(string order, string? expectedOnHttpLoggingRequest)
    {
        // Arrange
        var output = new SerilogOutput();

        // Act
        await SendAsync(output, order);

        // Assert: HttpLogging writes its request record before calling the rest of the pipeline.
        var events = RequestEvents(output);
        var httpRequest = Assert.Single(events, e => Property(e, "SourceContext") == HttpLogging && Property(e, "Method") == "GET");
        Assert.Equal(expectedOnHttpLoggingRequest, Property(httpRequest, "UserId"));
        Assert.Equal(RequestId, Property(httpRequest, "RequestId"));
        var handler = Assert.Single(events, e => Property(e, "@mt") == "Handling boom for {Who}");
        Assert.Equal(UserId, Property(handler, "UserId"));
    }

    [Fact]
    public async Task WithoutUseRequestContext_NoHeaderNoRequestIdInProblemDetails_EventsHaveTheServersIdAndNoUser()
    {
        // Arrange: AddRequestContext() and Enrich.WithRequestContext(), but UseRequestContext() never called.
        var output = new SerilogOutput();

        // Act
        var result = await SendAsync(output, Recommended, useRequestContext: false);

        // Assert
        Assert.Equal(HttpStatusCode.InternalServerError, result.Status);
        Assert.Null(result.Header);
        Assert.False(result.Body!.Value.TryGetProperty("requestId", out _));
        var events = RequestEvents(output);
        var httpLogs = events.Where(e => Property(e, "SourceContext") == HttpLogging).ToList();
        Assert.NotEmpty(httpLogs);
        // Hosting's scope still has a RequestId: the server's own TraceIdentifier, not the caller's X-Request-ID.
        Assert.All(httpLogs, e => Assert.Matches("^[0-9A-Z]{13}:[0-9A-F]{8}$", Property(e, "RequestId")));
        Assert.All(events, e => Assert.Null(Property(e, "TraceId")));
        Assert.All(events, e => Assert.Null(Property(e, "UserId")));
        var handler = Assert.Single(events, e => Property(e, "@mt") == "Handling boom for {Who}");
        Assert.Equal(JsonValueKind.Null, handler.GetProperty("Who").ValueKind); // ICurrentUser is anonymous
        var completion = Assert.Single(events, e => Property(e, "SourceContext") == Completion);
        Assert.Null(Property(completion, "RequestId"));
    }

    /// <summary>
    /// The events written for the request: those inside hosting's request scope (RequestPath) or under its Activity
    /// (@tr); startup and shutdown have neither. An event with only one of the two is still checked for the ids.
    /// </summary>
    private static List<JsonElement> RequestEvents(SerilogOutput output) =>
        [.. output.Events().Where(e => Property(e, "RequestPath") is not null || Property(e, "@tr") is not null)];

    private static string Describe(JsonElement logEvent) =>
        $"{Property(logEvent, "SourceContext")}: {Property(logEvent, "@mt")} RequestId={Property(logEvent, "RequestId") ?? "null"} TraceId={Property(logEvent, "TraceId") ?? "null"} @tr={Property(logEvent, "@tr")}";

    private sealed record Result(HttpStatusCode Status, string? ContentType, string? Header, string RawBody)
    {
        public JsonElement? Body => RawBody.Length == 0 ? null : JsonDocument.Parse(RawBody).RootElement;
    }

    /// <summary>
    /// Starts the app with the middleware in <paramref name="order"/> (names separated by spaces), sends one
    /// authenticated <c>GET /boom</c> with an X-Request-ID, and stops the app, so that every event of the request is
    /// written when it returns.
    /// </summary>
    private static async Task<Result> SendAsync(SerilogOutput output, string order, string environment = "Production", bool useRequestContext = true)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = environment });
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddRequestContext();
        builder.Services.AddProblemDetails();
        builder.Services.AddHttpLogging(options => options.ResponseHeaders.Add("X-Request-ID"));
        Jwt.AddJwtBearer(builder);
        builder.Services.AddAuthorization();
        builder.Services.AddSerilog(
            (_, logger) => logger
                .MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore.Hosting", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.AspNetCore.Routing", LogEventLevel.Warning)
                .Enrich.WithRequestContext()
                .WriteTo.Sink(output.Sink),
            preserveStaticLogger: true); // other tests of the process keep their static logger
        var app = builder.Build();
        foreach (var step in order.Split(' '))
        {
            _ = step switch
            {
                "ExceptionHandler" => app.UseExceptionHandler(),
                // Handed this host's logger, not the static one.
                "SerilogRequestLogging" => app.UseSerilogRequestLogging(options => options.Logger = app.Services.GetRequiredService<ILogger>()),
                "HttpLogging" => app.UseHttpLogging(),
                "RequestContext" => useRequestContext ? app.UseRequestContext() : app,
                "Authentication" => app.UseAuthentication().UseAuthorization(),
                _ => throw new ArgumentException($"unknown step {step}", nameof(order)),
            };
        }

        app.MapGet("/boom", string (ICurrentUser user, Microsoft.Extensions.Logging.ILogger<PipelineOrderDocTests> logger) =>
        {
            Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(logger, "Handling boom for {Who}", user.Id);
            throw new InvalidOperationException("boom");
        });
        await app.StartAsync();
        try
        {
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
            using var client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = address };
            var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
            request.Headers.Add("X-Request-ID", RequestId);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Jwt.CreateToken(UserId, "Ann"));
            using var response = await client.SendAsync(request);
            return new Result(
                response.StatusCode,
                response.Content.Headers.ContentType?.MediaType,
                response.Headers.TryGetValues("X-Request-ID", out var values) ? string.Join(",", values) : null,
                await response.Content.ReadAsStringAsync());
        }
        finally
        {
            // Stopping waits for the request's pipeline to finish: its last events are written.
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
