using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Grpc.Core;

namespace ContextMiddleware.Grpc.Tests;

/// <summary>
/// Each gRPC call of the four kinds runs in a request context of its own: the request id from x-request-id metadata
/// when trusted, the trace of the call's Activity, the user of the call's principal; its log events carry it.
/// </summary>
public sealed class CallContextTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string TraceParent = $"00-{TraceId}-00f067aa0ba902b7-01";

    [Fact]
    public async Task Each_call_of_the_four_kinds_has_its_own_context_and_its_events_carry_it()
    {
        await using var app = await GrpcApps.StartAsync();
        await using var services = GrpcApps.ClientServices(app, accessToken: Jwt.CreateToken("user-g", "Grace"));
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var unary = await client.UnaryAsync(new Probe { Tag = "unary" });

        var serverStream = new List<Seen>();
        using (var call = client.ServerStream(new Probe { Tag = "server-stream", Count = 3 }))
        {
            await foreach (var seen in call.ResponseStream.ReadAllAsync())
            {
                serverStream.Add(seen);
            }
        }

        SeenList clientStream;
        using (var call = client.ClientStream())
        {
            for (var i = 0; i < 3; i++)
            {
                await call.RequestStream.WriteAsync(new Probe { Tag = "client-stream" });
            }

            await call.RequestStream.CompleteAsync();
            clientStream = await call;
        }

        var duplex = new List<Seen>();
        using (var call = client.Duplex())
        {
            for (var i = 0; i < 3; i++)
            {
                await call.RequestStream.WriteAsync(new Probe { Tag = "duplex" });
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                duplex.Add(call.ResponseStream.Current);
            }

            await call.RequestStream.CompleteAsync();
        }

        var calls = new[] { (IReadOnlyList<Seen>)[unary], serverStream, clientStream.Items, duplex };
        foreach (var seen in calls)
        {
            var first = seen[0];
            Assert.All(seen, item =>
            {
                Assert.Equal(first.RequestId, item.RequestId);
                Assert.Equal(item.RequestId, item.ChildRequestId);
                Assert.Equal(item.TraceId, item.ActivityTraceId);
                Assert.Equal("user-g", item.UserId);
            });
            Assert.NotEmpty(first.RequestId);

            var events = app.Logs.Records.Where(record => record.Message.EndsWith($" {first.Tag}", StringComparison.Ordinal) && record.Category == typeof(ProbeService).FullName).ToList();
            Assert.Equal(seen.Count * 2, events.Count);
            Assert.All(events, record => Assert.Equal((first.RequestId, first.TraceId, "user-g"), (record.RequestId, record.TraceId, record.UserId)));
        }

        Assert.Equal(4, calls.Select(seen => seen[0].RequestId).Distinct().Count());
        Assert.Equal(4, calls.Select(seen => seen[0].TraceId).Distinct().Count());
    }

    [Fact]
    public async Task Request_id_and_traceparent_metadata_from_a_trusted_caller_are_the_calls()
    {
        await using var app = await GrpcApps.StartAsync();
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var seen = await client.UnaryAsync(new Probe { Tag = "metadata" }, new Metadata { { "x-request-id", "order-7" }, { "traceparent", TraceParent } });

        Assert.Equal("order-7", seen.RequestId);
        Assert.Equal(TraceId, seen.TraceId);
    }

    [Fact]
    public async Task An_untrusted_callers_metadata_is_not_believed_and_a_hostile_id_is_never_logged()
    {
        await using var app = await GrpcApps.StartAsync(options: options => options.IncomingRequestIds = RequestContextTrust.Ignore);
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var untrusted = await client.UnaryAsync(new Probe { Tag = "untrusted" }, new Metadata { { "x-request-id", "order-8" }, { "traceparent", TraceParent } });

        Assert.NotEqual("order-8", untrusted.RequestId);
        Assert.NotEqual(TraceId, untrusted.TraceId);
    }

    [Fact]
    public async Task A_hostile_request_id_gets_a_fresh_id_and_is_never_logged()
    {
        await using var app = await GrpcApps.StartAsync();
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();
        var hostile = new string('x', 5000);

        var seen = await client.UnaryAsync(new Probe { Tag = "hostile" }, new Metadata { { "x-request-id", hostile } });

        Assert.NotEqual(hostile, seen.RequestId);
        Assert.Equal(seen.TraceId, seen.RequestId);
        Assert.DoesNotContain(app.Logs.Records, record => record.AllText.Contains(hostile, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Concurrent_calls_of_every_kind_never_cross()
    {
        await using var app = await GrpcApps.StartAsync();
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            var tag = $"call-{i}";
            var metadata = new Metadata { { "x-request-id", $"req-{i}" } };
            IReadOnlyList<Seen> seen;
            switch (i % 3)
            {
                case 0:
                    seen = [await client.UnaryAsync(new Probe { Tag = tag }, metadata)];
                    break;
                case 1:
                    using (var call = client.ServerStream(new Probe { Tag = tag, Count = 3 }, metadata))
                    {
                        var items = new List<Seen>();
                        await foreach (var item in call.ResponseStream.ReadAllAsync())
                        {
                            items.Add(item);
                        }

                        seen = items;
                    }

                    break;
                default:
                    using (var call = client.Duplex(metadata))
                    {
                        var items = new List<Seen>();
                        for (var n = 0; n < 3; n++)
                        {
                            await call.RequestStream.WriteAsync(new Probe { Tag = tag });
                            await call.ResponseStream.MoveNext(CancellationToken.None);
                            items.Add(call.ResponseStream.Current);
                        }

                        await call.RequestStream.CompleteAsync();
                        seen = items;
                    }

                    break;
            }

            return (i, seen);
        }));

        var mismatches = new List<string>();
        foreach (var (i, seen) in results)
        {
            if (seen.Any(item => item.RequestId != $"req-{i}" || item.ChildRequestId != $"req-{i}" || item.TraceId != item.ActivityTraceId))
            {
                mismatches.Add($"call {i}: {string.Join(", ", seen)}");
            }

            foreach (var record in app.Logs.Records.Where(record => record.Message.EndsWith($" call-{i}", StringComparison.Ordinal)))
            {
                if (record.RequestId != $"req-{i}" || record.TraceId != seen[0].TraceId)
                {
                    mismatches.Add($"call {i}: event {record.Message} with {record.RequestId} {record.TraceId}");
                }
            }
        }

        Assert.Empty(mismatches);
    }
}
