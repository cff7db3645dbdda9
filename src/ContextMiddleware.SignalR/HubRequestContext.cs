using ContextMiddleware.SignalR.Internal;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// What a hub invocation's request context knows beside <see cref="RequestContext"/>, with
/// <c>AddSignalR().AddRequestContext()</c>: readable anywhere in the invocation's call chain (its tasks and background
/// work included).
/// </summary>
public static class HubRequestContext
{
    /// <summary>
    /// Gets the request id of the HTTP request that started the current invocation's connection (the WebSocket or
    /// Server-Sent Events request; for long polling, the first poll), logged as <c>ConnectionRequestId</c>; every
    /// invocation on the connection has its own <see cref="RequestContext.RequestId"/>. <see langword="null"/> outside a
    /// hub invocation, or when that request had no request context (no <c>UseRequestContext()</c>).
    /// </summary>
    public static string? ConnectionRequestId => Current?.ConnectionRequestId;

    /// <summary>Gets the name of the current invocation's hub (its class name), logged as <c>Hub</c>; <see langword="null"/> outside a hub invocation.</summary>
    public static string? Hub => Current?.Hub;

    /// <summary>
    /// Gets the hub method of the current invocation as the client invoked it (or <c>OnConnectedAsync</c> /
    /// <c>OnDisconnectedAsync</c>), logged as <c>HubMethod</c>; <see langword="null"/> outside a hub invocation.
    /// </summary>
    public static string? HubMethod => Current?.Method;

    private static HubCallSource? Current => IncomingCallSource.Current as HubCallSource;
}
