using ContextMiddleware.Grpc.Internal;
using Grpc.AspNetCore.Server;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Completes the request context of gRPC calls.</summary>
public static class RequestContextGrpcServerBuilderExtensions
{
    /// <summary>
    /// Adds the request context's services (<c>AddRequestContext()</c>) and an interceptor, first of the app's, that puts
    /// the call's request id into the trailers (under <c>RequestContextOptions.ResponseHeader</c>) of a call that fails
    /// after its response began, so that the caller's <c>RpcException.Trailers</c> carry the downstream request id for
    /// every call kind (a call that fails before its response began has it in its trailers-only response already).
    /// Every call's request context itself comes from <c>UseRequestContext()</c>: gRPC calls are HTTP/2 requests.
    /// </summary>
    /// <param name="builder">The gRPC server builder.</param>
    /// <returns>The gRPC server builder.</returns>
    public static IGrpcServerBuilder AddRequestContext(this IGrpcServerBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRequestContext();
        if (builder.Services.Any(static descriptor => descriptor.ServiceType == typeof(RequestIdTrailerInterceptor)))
        {
            return builder;
        }

        builder.Services.AddSingleton<RequestIdTrailerInterceptor>();
        builder.Services.Configure<GrpcServiceOptions>(static options =>
        {
            options.Interceptors.Add<RequestIdTrailerInterceptor>();

            // Outermost, so that a failure in any of the app's interceptors is covered too.
            var registration = options.Interceptors[^1];
            options.Interceptors.RemoveAt(options.Interceptors.Count - 1);
            options.Interceptors.Insert(0, registration);
        });
        return builder;
    }
}
