using System.Collections;
using System.Diagnostics;
using System.Net;
using System.Security.Claims;
using ContextMiddleware.AspNetCore;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.SignalR.Internal;

/// <summary>
/// One hub invocation (or <c>OnConnectedAsync</c> / <c>OnDisconnectedAsync</c>) as the request context sees it: the
/// invocation's headers, the connection's address and current principal, and the values every log event of the
/// invocation carries (its <see cref="LogProperties"/>, which it is itself, so they cost nothing more).
/// </summary>
/// <remarks>
/// Until <see cref="End"/>, the principal is the connection's current <see cref="HubCallerContext.User"/>; afterwards
/// (work the invocation started, still running) the one it had when the invocation ended, and the
/// <see cref="HubCallerContext"/>, which lives as long as the connection, is let go of.
/// </remarks>
internal sealed class HubCallSource : IncomingCallSource, IReadOnlyList<KeyValuePair<string, string>>
{
    internal const string HubKey = "Hub";
    internal const string HubMethodKey = "HubMethod";
    internal const string ConnectionIdKey = "HubConnectionId";
    internal const string ConnectionRequestIdKey = "ConnectionRequestId";

    private readonly InvocationHeaders? _headers;
    private readonly IPAddress? _address;
    private readonly string _connectionId;
    private HubCallerContext? _caller;

    // Until End: the Activity started for the invocation (when SignalR started none); from End on: the principal the
    // connection had when the invocation ended. One field for both.
    private object? _final;

    public HubCallSource(
        HubCallerContext caller, string hub, string method, string? connectionRequestId, IPAddress? address, InvocationHeaders? headers, Activity? started)
    {
        _caller = caller;
        _connectionId = caller.ConnectionId;
        Hub = hub;
        Method = method;
        ConnectionRequestId = connectionRequestId;
        _address = address;
        _headers = headers;
        _final = started;
    }

    /// <summary>The hub's name (its class name).</summary>
    public string Hub { get; }

    /// <summary>The hub method as invoked (its <c>HubMethodName</c>), or <c>OnConnectedAsync</c> / <c>OnDisconnectedAsync</c>.</summary>
    public string Method { get; }

    /// <summary>The request id of the HTTP request that started the connection, when it had one.</summary>
    public string? ConnectionRequestId { get; }

    public override IPAddress? RemoteAddress => _address;

    public override ClaimsPrincipal? Principal => Volatile.Read(ref _caller) is { } caller ? caller.User : Volatile.Read(ref _final) as ClaimsPrincipal;

    public override Exception? TrustFailure => _headers?.TrustFailure;

    public override IReadOnlyList<KeyValuePair<string, string>> LogProperties => this;

    public int Count => ConnectionRequestId is null ? 3 : 4;

    public KeyValuePair<string, string> this[int index] => index switch
    {
        0 => new(HubKey, Hub),
        1 => new(HubMethodKey, Method),
        2 => new(ConnectionIdKey, _connectionId),
        3 when ConnectionRequestId is not null => new(ConnectionRequestIdKey, ConnectionRequestId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    /// <summary>An invocation header, its name matched without regard to case (<see cref="InvocationHeaders.Get"/>).</summary>
    public override StringValues GetHeader(string name) => InvocationHeaders.Get(_headers?.Headers, name);

    /// <summary>
    /// The invocation ended: keep the connection's principal as it is now, let go of the connection, stop the Activity
    /// started for it.
    /// </summary>
    public void End()
    {
        if (Interlocked.Exchange(ref _caller, null) is { } caller)
        {
            var started = _final as Activity;
            Volatile.Write(ref _final, caller.User);
            started?.Stop();
        }
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
