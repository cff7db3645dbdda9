using ContextMiddleware.AspNetCore;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Grpc.Internal;

/// <summary>
/// Gives a failing call's caller the call's request id in the trailers: when the response has already begun (a
/// streaming call that wrote a message), the response header the request context wrote reached the caller only in the
/// response headers, which an <see cref="RpcException"/> does not carry. A call that fails before its response began
/// ends "trailers-only": its headers, the request id among them, are the trailers already, and nothing is added.
/// </summary>
internal sealed class RequestIdTrailerInterceptor(IOptions<RequestContextOptions> options) : Interceptor
{
    private readonly string? _header = options.Value.ResponseHeader is { Length: > 0 } header ? header.ToLowerInvariant() : null;

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception) when (AddTrailer(context))
        {
            throw; // never reached: the filter adds the trailer and lets the exception go on
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception) when (AddTrailer(context))
        {
            throw;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception) when (AddTrailer(context))
        {
            throw;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception) when (AddTrailer(context))
        {
            throw;
        }
    }

    /// <summary>Adds the request id to the trailers when the response has begun; always returns false.</summary>
    private bool AddTrailer(ServerCallContext context)
    {
        if (_header is not null && RequestContext.RequestId.Get() is { } requestId &&
            context.GetHttpContext().Response.HasStarted && context.ResponseTrailers.Get(_header) is null)
        {
            context.ResponseTrailers.Add(_header, requestId);
        }

        return false;
    }
}
