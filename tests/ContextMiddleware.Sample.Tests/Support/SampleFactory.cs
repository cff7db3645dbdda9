using System.Net.Http.Headers;
using ContextMiddleware.Sample.Demo;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serilog.Core;

namespace ContextMiddleware.Sample.Tests.Support;

/// <summary>
/// The sample app as <c>Program.cs</c> builds it, served by Kestrel on 127.0.0.1 (a free port), so that its payment
/// call really goes over loopback to itself. Its log events are captured, rendered with the sample's console template.
/// </summary>
public sealed class SampleFactory : WebApplicationFactory<Program>
{
    private readonly string _environment;
    private readonly Dictionary<string, string?> _settings;

    public SampleFactory(string environment = "Development", Dictionary<string, string?>? settings = null)
    {
        _environment = environment;
        _settings = settings ?? [];
        _settings[$"{SampleApp.SectionName}:ConsoleLog"] = "false";
        Logs = new DemoLogSink(TextWriter.Null);
        UseKestrel(0);
    }

    /// <summary>Every event the app wrote, kept and rendered as the console line.</summary>
    internal DemoLogSink Logs { get; }

    /// <summary>Sends <c>GET /orders/{orderId}</c> with an X-Request-ID and, for a user, a development token.</summary>
    public async Task<HttpResponseMessage> GetOrderAsync(HttpClient client, int orderId, string requestId, string? userId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/orders/{orderId}");
        request.Headers.Add("X-Request-ID", requestId);
        if (userId is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(userId));
        }

        return await client.SendAsync(request);
    }

    /// <summary>A development token, minted by the sample's own issuer.</summary>
    public string Token(string userId) =>
        Services.GetRequiredService<DevTokenIssuer>().Issue(userId, DevTokenIssuer.DefaultName(userId));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        builder.ConfigureAppConfiguration(configuration => configuration.AddInMemoryCollection(_settings));
        builder.ConfigureServices(services => services.AddSingleton<ILogEventSink>(Logs));
    }
}
