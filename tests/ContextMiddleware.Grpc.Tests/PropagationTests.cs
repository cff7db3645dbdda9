using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Grpc.Core;

namespace ContextMiddleware.Grpc.Tests;

/// <summary>
/// A gRPC client registered with <c>AddGrpcClient&lt;T&gt;().AddRequestContextPropagation()</c> carries the request id
/// and the trace to the next service, only to allowed hosts; a failing downstream call tells the caller the downstream
/// request id.
/// </summary>
public sealed class PropagationTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string TraceParent = $"00-{TraceId}-00f067aa0ba902b7-01";

    private static Task<Testing.TestApp> StartUpstreamAsync(Testing.TestApp downstream, Action<RequestContextOptions>? options = null) =>
        GrpcApps.StartAsync(
            builder => builder.Services
                .AddGrpcClient<ContextProbe.ContextProbeClient>(client => client.Address = downstream.BaseAddress)
                .AddRequestContextPropagation(),
            options);

    [Fact]
    public async Task The_downstream_service_runs_with_the_callers_request_id_and_trace()
    {
        await using var downstream = await GrpcApps.StartAsync();
        await using var upstream = await StartUpstreamAsync(downstream);
        await using var services = GrpcApps.ClientServices(upstream);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var relayed = await client.RelayAsync(new Probe { Tag = "relay" }, new Metadata { { "x-request-id", "order-1" }, { "traceparent", TraceParent } });

        Assert.Equal("order-1", relayed.Caller.RequestId);
        Assert.Equal(TraceId, relayed.Caller.TraceId);
        Assert.Equal("order-1", relayed.Downstream.RequestId);
        Assert.Equal(TraceId, relayed.Downstream.TraceId);
        Assert.Equal(relayed.Downstream.TraceId, relayed.Downstream.ActivityTraceId);
        Assert.Equal("order-1", relayed.DownstreamRequestIdHeader);
        var downstreamEvents = downstream.Logs.Records.Where(record => record.Message == "Call relay-downstream").ToList();
        Assert.Equal(("order-1", TraceId), (Assert.Single(downstreamEvents).RequestId, downstreamEvents[0].TraceId));
    }

    [Fact]
    public async Task The_callers_tenant_travels_in_the_baggage_metadata_to_the_downstream_service()
    {
        await using var downstream = await GrpcApps.StartAsync();
        await using var upstream = await StartUpstreamAsync(downstream);
        await using var services = GrpcApps.ClientServices(upstream);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var relayed = await client.RelayAsync(new Probe { Tag = "relay" }, new Metadata { { "baggage", "tenant=acme,other=1" } });

        Assert.Equal("acme", relayed.Caller.Tenant);
        Assert.Equal("acme", relayed.Downstream.Tenant);
    }

    [Fact]
    public async Task A_host_outside_the_baggage_allow_list_gets_no_tenant()
    {
        await using var downstream = await GrpcApps.StartAsync();
        await using var upstream = await StartUpstreamAsync(downstream, options => options.Baggage.AllowedHosts.Add("orders.internal.example"));
        await using var services = GrpcApps.ClientServices(upstream);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var relayed = await client.RelayAsync(new Probe { Tag = "relay" }, new Metadata { { "baggage", "tenant=acme" } });

        Assert.Equal("acme", relayed.Caller.Tenant);
        Assert.Equal(string.Empty, relayed.Downstream.Tenant);
    }

    [Fact]
    public async Task A_host_outside_the_allow_list_gets_neither_the_request_id_nor_the_trace()
    {
        await using var downstream = await GrpcApps.StartAsync();
        await using var upstream = await StartUpstreamAsync(downstream, options => options.PropagationAllowedHosts.Add("orders.internal.example"));
        await using var services = GrpcApps.ClientServices(upstream);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var relayed = await client.RelayAsync(new Probe { Tag = "relay" }, new Metadata { { "x-request-id", "order-2" }, { "traceparent", TraceParent } });

        Assert.Equal("order-2", relayed.Caller.RequestId);
        Assert.NotEqual("order-2", relayed.Downstream.RequestId);
        Assert.NotEqual(TraceId, relayed.Downstream.TraceId);
    }

    [Theory]
    [InlineData("Fail")]
    [InlineData("FailStreaming")]
    public async Task A_failed_call_tells_the_caller_the_downstream_request_id_in_its_trailers(string method)
    {
        await using var downstream = await GrpcApps.StartAsync(options: options => options.IncomingRequestIds = RequestContextTrust.Ignore);
        await using var services = GrpcApps.ClientServices(downstream);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var exception = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (method == "Fail")
            {
                await client.FailAsync(new Probe { Tag = method });
            }
            else
            {
                using var call = client.FailStreaming(new Probe { Tag = method });
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                }
            }
        });

        var logged = downstream.Logs.Records.First(record => record.Message.EndsWith($" {method}", StringComparison.Ordinal)).RequestId;
        Assert.NotNull(logged);
        Assert.Equal(logged, Assert.Single(exception.Trailers, entry => entry.Key == "x-request-id").Value);
    }
}
