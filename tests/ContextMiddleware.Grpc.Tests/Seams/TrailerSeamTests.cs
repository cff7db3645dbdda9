using ContextMiddleware.AspNetCore;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ContextMiddleware.Grpc.Tests;

/// <summary>An app interceptor that forwards the downstream's id through ServerCallContext.ResponseTrailers, then fails.</summary>
public sealed class TrailerForwardingInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException)
        {
            context.ResponseTrailers.Add("x-request-id", "inventory-9");
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RpcException)
        {
            context.ResponseTrailers.Add("x-request-id", "inventory-9");
            throw;
        }
    }
}

/// <summary>An app interceptor that turns the failure into a non-RpcException.</summary>
public sealed class PlainExceptionInterceptor : Interceptor
{
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (RpcException)
        {
            throw new InvalidOperationException("plain");
        }
    }
}

/// <summary>The second review's trailer seams: an app's own trailer, a plain exception, a success, a -bin header name.</summary>
public sealed class TrailerSeamTests
{
    private static async Task<RpcException> FailAsync(ContextProbe.ContextProbeClient client, string method, DateTime? deadline = null) =>
        await Assert.ThrowsAsync<RpcException>(async () =>
        {
            if (method == "Fail")
            {
                await client.FailAsync(new Probe { Tag = method }, deadline: deadline);
            }
            else
            {
                using var call = client.FailStreaming(new Probe { Tag = method }, deadline: deadline);
                await foreach (var _ in call.ResponseStream.ReadAllAsync())
                {
                }
            }
        });

    [Theory]
    [InlineData("Fail")]
    [InlineData("FailStreaming")]
    public async Task app_trailer_in_ResponseTrailers_gives_caller_one_id_the_calls_own(string method)
    {
        await using var app = await GrpcApps.StartAsync(
            builder => builder.Services.AddGrpc(o => o.Interceptors.Add<TrailerForwardingInterceptor>()),
            options => options.IncomingRequestIds = RequestContextTrust.Ignore);
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var exception = await FailAsync(client, method);

        var own = app.Logs.Records.First(record => record.Message.EndsWith($" {method}", StringComparison.Ordinal)).RequestId;
        var values = exception.Trailers.Where(entry => entry.Key == "x-request-id").Select(entry => entry.Value).ToList();
        Assert.Equal([own!], values);
    }

    [Fact]
    public async Task non_rpc_exception_after_response_started_carries_the_id()
    {
        await using var app = await GrpcApps.StartAsync(
            builder => builder.Services.AddGrpc(o => o.Interceptors.Add<PlainExceptionInterceptor>()),
            options => options.IncomingRequestIds = RequestContextTrust.Ignore);
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var exception = await FailAsync(client, "FailStreaming");

        var own = app.Logs.Records.First(record => record.Message == "Call FailStreaming").RequestId;
        Assert.Equal(own, Assert.Single(exception.Trailers, entry => entry.Key == "x-request-id").Value);
    }

    [Fact]
    public async Task success_unary_has_header_and_no_trailer()
    {
        await using var app = await GrpcApps.StartAsync(options: options => options.IncomingRequestIds = RequestContextTrust.Ignore);
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        using var call = client.UnaryAsync(new Probe { Tag = "ok" });
        var headers = await call.ResponseHeadersAsync;
        var seen = await call;
        Assert.Equal(seen.RequestId, headers.GetValue("x-request-id"));
        Assert.DoesNotContain(call.GetTrailers(), entry => entry.Key == "x-request-id");
    }

    [Fact]
    public async Task bin_suffixed_ResponseHeader_does_not_break_calls()
    {
        await using var app = await GrpcApps.StartAsync(options: options => { options.ResponseHeader = "X-Request-ID-bin"; options.IncomingRequestIds = RequestContextTrust.Ignore; });
        await using var services = GrpcApps.ClientServices(app);
        var client = services.GetRequiredService<ContextProbe.ContextProbeClient>();

        var seen = await client.UnaryAsync(new Probe { Tag = "bin" });
        Assert.NotEmpty(seen.RequestId);
    }
}
