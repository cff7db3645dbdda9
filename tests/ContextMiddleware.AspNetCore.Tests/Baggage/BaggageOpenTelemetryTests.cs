using System.Diagnostics;
using System.Net.Http.Json;
using ContextMiddleware.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace ContextMiddleware.AspNetCore.Tests.Baggage;

/// <summary>
/// With OpenTelemetry's ASP.NET Core and HttpClient instrumentation: <c>Baggage.Current</c> and
/// <c>Activity.Baggage</c> show what the request's variables hold, and an outgoing call carries one baggage header.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class BaggageOpenTelemetryTests
{
    public sealed record OtelView(string? Tenant, string? OtelTenant, string? OtelOther, string ActivityBaggage, string OtelAll);

    [Theory]
    [InlineData("tenant=acme,other=1", "acme", "1")]
    [InlineData("tenant=NOT%20VALID,other=1", null, "1")] // dropped from the variable, and from what OpenTelemetry reads
    public async Task BaggageCurrent_AndActivityBaggage_ShowTheRegisteredValues(string header, string? tenant, string? other)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/otel", () => new OtelView(
                    Tenant.Current.Get(),
                    OpenTelemetry.Baggage.Current.GetBaggage("tenant"),
                    OpenTelemetry.Baggage.Current.GetBaggage("other"),
                    string.Join(",", Activity.Current?.Baggage.OrderBy(item => item.Key).Select(item => $"{item.Key}={item.Value}") ?? []),
                    string.Join(",", OpenTelemetry.Baggage.Current.GetBaggage().OrderBy(item => item.Key).Select(item => $"{item.Key}={item.Value}"))));
            },
            builder =>
            {
                builder.Services.AddRequestContext(options => options.Baggage.Add(Tenant.Current, "tenant", v => v.Pattern = "^[a-z0-9-]{1,32}$"));
                builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddAspNetCoreInstrumentation());
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/otel");
        request.Headers.TryAddWithoutValidation("baggage", header);

        var view = await (await app.Client.SendAsync(request)).Content.ReadFromJsonAsync<OtelView>();

        Assert.Equal(tenant, view!.Tenant);
        Assert.Equal(tenant, view.OtelTenant);
        Assert.Equal(other, view.OtelOther);
        var expected = tenant is null ? $"other={other}" : $"other={other},tenant={tenant}";
        Assert.Equal(expected, view.ActivityBaggage);
        Assert.Equal(expected, view.OtelAll);
    }

    [Fact]
    public async Task OutgoingCall_WithOpenTelemetryHttpInstrumentation_CarriesOneBaggageHeader_WithTheVariablesValue()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await BaggageServices.StartCallerAsync(recorder.BaseAddress, openTelemetry: true, call: client =>
        {
            Tenant.Current.Set("changed-in-code");
            Activity.Current?.AddBaggage("app.added", "yes");
            return client.GetAsync("/next");
        });

        (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme,other=1"))).EnsureSuccessStatusCode();

        var line = Assert.Single(recorder.Values("/next", "baggage"));
        Assert.Equal("tenant=changed-in-code,other=1,app.added=yes", line);
        Assert.Single(recorder.Values("/next", "traceparent"));
    }

    [Theory]
    [InlineData("propagation")]
    [InlineData("baggage")]
    public async Task DisallowedHost_WithOpenTelemetryHttpInstrumentation_GetsNoBaggage(string list)
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await BaggageServices.StartCallerAsync(
            recorder.BaseAddress,
            options => (list == "propagation" ? options.PropagationAllowedHosts : options.Baggage.AllowedHosts).Add("allowed.example"),
            openTelemetry: true);

        (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme,other=1"))).EnsureSuccessStatusCode();

        Assert.Empty(recorder.Values("/next", "baggage"));
        Assert.Equal(list == "propagation" ? 0 : 1, recorder.Values("/next", "traceparent").Length);
    }

    [Fact]
    public async Task BaggageTheAppSetOnTheRequest_IsLeftAsItIs()
    {
        await using var recorder = new HeaderRecorder();
        await using var app = await BaggageServices.StartCallerAsync(recorder.BaseAddress, openTelemetry: true, call: client =>
        {
            var outgoing = new HttpRequestMessage(HttpMethod.Get, "/next");
            outgoing.Headers.TryAddWithoutValidation("baggage", "explicit=1");
            return client.SendAsync(outgoing);
        });

        (await app.Client.SendAsync(BaggageServices.Request("/call", "tenant=acme"))).EnsureSuccessStatusCode();

        Assert.Equal(["explicit=1"], recorder.Values("/next", "baggage"));
    }
}
