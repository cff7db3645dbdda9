using ContextMiddleware.AspNetCore;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ContextMiddleware.Grpc.Tests;

/// <summary>An app interceptor that forwards a downstream failure with the downstream's trailers (a proxy's usual code).</summary>
public sealed class ForwardingInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException exception)
        {
            throw new RpcException(exception.Status, new Metadata { { "x-request-id", "inventory-9" } });
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RpcException exception)
        {
            throw new RpcException(exception.Status, new Metadata { { "x-request-id", "inventory-9" } });
        }
    }
}

public sealed class GrpcSeamTests
{
    [Theory]
    [InlineData("Fail")]
    [InlineData("FailStreaming")]
    public async Task a_failure_carrying_another_x_request_id_trailer_gives_the_caller_one_id_the_calls_own(string method)
    {
        await using var app = await GrpcApps.StartAsync(
            builder => builder.Services.AddGrpc(o => o.Interceptors.Add<ForwardingInterceptor>()),
            options => options.IncomingRequestIds = RequestContextTrust.Ignore);
        await using var services = GrpcApps.ClientServices(app);
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

        var own = app.Logs.Records.First(record => record.Message.EndsWith($" {method}", StringComparison.Ordinal)).RequestId;
        var values = exception.Trailers.Where(entry => entry.Key == "x-request-id").Select(entry => entry.Value).ToList();
        Assert.Equal([own!], values);
        Assert.Equal(own, exception.Trailers.GetValue("x-request-id"));
    }

    [Fact]
    public async Task a_custom_ResponseHeader_names_the_trailer()
    {
        await using var app = await GrpcApps.StartAsync(options: options => { options.ResponseHeader = "X-Correlation-ID"; options.IncomingRequestIds = RequestContextTrust.Ignore; });
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var exception = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = client.FailStreaming(new Probe { Tag = "c" });
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });

        var own = app.Logs.Records.First(record => record.Message == "Call c").RequestId;
        Assert.Equal(own, Assert.Single(exception.Trailers, entry => entry.Key == "x-correlation-id").Value);
    }
}
