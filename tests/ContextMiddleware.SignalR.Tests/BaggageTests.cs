using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.SignalR;
using static ContextMiddleware.SignalR.Tests.InvocationContextTests;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>The tenant of each hub invocation, from the invocation's own <c>baggage</c> header, trusted like HTTP's.</summary>
public sealed class BaggageTests
{
    public static readonly ContextVar<string?> Tenant = new("HubTenant", null);

    public sealed class TenantHub : Hub
    {
        public async Task<string> Read()
        {
            var before = Tenant.Get() ?? "(none)";
            await Task.Yield();
            var baggage = string.Join(",", Activity.Current?.Baggage.Select(item => $"{item.Key}={item.Value}") ?? []);
            return $"{before}|{Tenant.Get() ?? "(none)"}|{baggage}";
        }
    }

    private static Task<TestApp> StartAsync(Action<RequestContextOptions>? configure = null) => TestApp.StartAsync(
        app =>
        {
            app.UseRequestContext();
            app.MapHub<TenantHub>("/tenant");
        },
        builder =>
        {
            builder.Services.AddRequestContext(options =>
            {
                options.Baggage.Add(Tenant, "tenant", v => v.Pattern = "^[a-z0-9-]+$");
                configure?.Invoke(options);
            });
            builder.Services.AddSignalR().AddRequestContext();
        },
        kestrel: true);

    [Fact]
    public async Task EachInvocation_ReadsItsOwnTenant_OnOneConnection()
    {
        await using var app = await StartAsync();
        await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/tenant");

        var first = Result(await client.InvokeAsync("Read", [], new Dictionary<string, string> { ["baggage"] = "tenant=acme,other=1" })).GetString();
        var second = Result(await client.InvokeAsync("Read", [], new Dictionary<string, string> { ["Baggage"] = "tenant=globex" })).GetString();
        var third = Result(await client.InvokeAsync("Read", [])).GetString();

        Assert.Equal("acme|acme|", first![..10]);
        Assert.Contains("tenant=acme", first, StringComparison.Ordinal);
        Assert.StartsWith("globex|globex|", second, StringComparison.Ordinal);
        Assert.StartsWith("(none)|(none)|", third, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidValue_IsDropped_WithAWarning_AndAnUntrustedCallersBaggageIsIgnored()
    {
        await using (var app = await StartAsync())
        {
            await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/tenant");
            var read = Result(await client.InvokeAsync("Read", [], new Dictionary<string, string> { ["baggage"] = "tenant=NOT%20OK" })).GetString();
            Assert.StartsWith("(none)|(none)|", read, StringComparison.Ordinal);
            Assert.Contains(app.Logs.Records, record => record.Message == "The baggage member tenant was dropped: the value does not match the pattern.");
        }

        await using (var app = await StartAsync(options => options.Baggage.Incoming = RequestContextTrust.Ignore))
        {
            await using var client = await RawHubClient.ConnectAsync(app.BaseAddress, "/tenant");
            var read = Result(await client.InvokeAsync("Read", [], new Dictionary<string, string> { ["baggage"] = "tenant=acme" })).GetString();
            Assert.Equal("(none)|(none)|", read);
            Assert.Contains(app.Logs.Records, record => record.EventId.Name == "UntrustedBaggage");
        }
    }
}
