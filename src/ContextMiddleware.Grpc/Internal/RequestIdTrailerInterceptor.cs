using ContextMiddleware.AspNetCore;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Grpc.Internal;

/// <summary>
/// Gives a failing call's caller the call's request id in the trailers: when the response has already begun (a
/// streaming call that wrote a message), the response header the request context wrote reached the caller only in the
/// response headers, which an <see cref="RpcException"/> does not carry. A call that fails before its response began
/// ends "trailers-only": its headers, the request id among them, are the trailers already, and nothing is added. Either
/// way the caller gets one entry of the name, the call's own id.
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
        catch (Exception exception) when (AddTrailer(context, exception))
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
        catch (Exception exception) when (AddTrailer(context, exception))
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
        catch (Exception exception) when (AddTrailer(context, exception))
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
        catch (Exception exception) when (AddTrailer(context, exception))
        {
            throw;
        }
    }

    /// <summary>
    /// Makes the call's request id the one entry of its name in what the caller gets: an entry of that name in the
    /// failure's own trailers (an app forwarding a downstream failure) or in the call's trailers is taken out, and the
    /// call's id is added to the trailers when the response has begun (before it, the response header is the trailer). Always returns false, so that the exception goes on unchanged otherwise.
    /// </summary>
    private bool AddTrailer(ServerCallContext context, Exception exception)
    {
        if (_header is null || RequestContext.RequestId.Get() is not { } requestId)
        {
            return false;
        }

        if (exception is RpcException { Trailers: { } trailers })
        {
            RemoveAll(trailers, _header);
        }

        if (context.GetHttpContext().Response.HasStarted)
        {
            RemoveAll(context.ResponseTrailers, _header);
            context.ResponseTrailers.Add(_header, requestId);
        }

        return false;
    }

    private static void RemoveAll(Metadata metadata, string name)
    {
        for (var i = metadata.Count - 1; i >= 0; i--)
        {
            if (string.Equals(metadata[i].Key, name, StringComparison.OrdinalIgnoreCase))
            {
                metadata.RemoveAt(i);
            }
        }
    }
}
