using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Grpc.Tests;

/// <summary>Answers what each call saw of its request context; logs each step with the call's tag.</summary>
public sealed class ProbeService(ILogger<ProbeService> logger, ContextProbe.ContextProbeClient? downstream = null) : ContextProbe.ContextProbeBase
{
    public override async Task<Seen> Unary(Probe request, ServerCallContext context) => await SeeAsync(request.Tag);

    public override async Task ServerStream(Probe request, IServerStreamWriter<Seen> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Count; i++)
        {
            await responseStream.WriteAsync(await SeeAsync(request.Tag));
        }
    }

    public override async Task<SeenList> ClientStream(IAsyncStreamReader<Probe> requestStream, ServerCallContext context)
    {
        var list = new SeenList();
        await foreach (var probe in requestStream.ReadAllAsync())
        {
            list.Items.Add(await SeeAsync(probe.Tag));
        }

        return list;
    }

    public override async Task Duplex(IAsyncStreamReader<Probe> requestStream, IServerStreamWriter<Seen> responseStream, ServerCallContext context)
    {
        await foreach (var probe in requestStream.ReadAllAsync())
        {
            await responseStream.WriteAsync(await SeeAsync(probe.Tag));
        }
    }

    public override Task<Seen> Fail(Probe request, ServerCallContext context)
    {
        logger.LogInformation("Fail {Tag}", request.Tag);
        throw new RpcException(new Status(StatusCode.FailedPrecondition, "the order is closed"));
    }

    public override async Task FailStreaming(Probe request, IServerStreamWriter<Seen> responseStream, ServerCallContext context)
    {
        await responseStream.WriteAsync(await SeeAsync(request.Tag));
        throw new RpcException(new Status(StatusCode.Aborted, "stream broke"));
    }

    public override async Task<Relayed> Relay(Probe request, ServerCallContext context)
    {
        var caller = await SeeAsync(request.Tag);
        var call = downstream!.UnaryAsync(new Probe { Tag = request.Tag + "-downstream" });
        var headers = await call.ResponseHeadersAsync;
        return new Relayed
        {
            Caller = caller,
            Downstream = await call,
            DownstreamRequestIdHeader = headers.GetValue("x-request-id") ?? string.Empty,
        };
    }

    private async Task<Seen> SeeAsync(string tag)
    {
        logger.LogInformation("Call {Tag}", tag);
        await Task.Yield();
        var child = await Task.Run(() =>
        {
            logger.LogInformation("Child {Tag}", tag);
            return RequestContext.RequestId.Get();
        });
        return new Seen
        {
            Tag = tag,
            RequestId = RequestContext.RequestId.Get() ?? string.Empty,
            TraceId = RequestContext.Trace.Get()?.TraceId ?? string.Empty,
            ActivityTraceId = Activity.Current?.TraceId.ToHexString() ?? string.Empty,
            UserId = RequestContext.User.Get().Id ?? string.Empty,
            ChildRequestId = child ?? string.Empty,
            Tenant = GrpcApps.Tenant.Get() ?? string.Empty,
        };
    }
}
