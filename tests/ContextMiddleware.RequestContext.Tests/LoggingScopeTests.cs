using System.Security.Claims;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Options;
using ContextMiddleware.AspNetCore.Internal.User;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Requests.Tests;

/// <summary>
/// The Microsoft.Extensions.Logging request scope is a snapshot: a provider that keeps an event and reads its scopes
/// later, on another thread, sees the values of when the event was written, and reading them allocates nothing.
/// </summary>
public class LoggingScopeTests
{
    private static readonly TraceContext Trace = new("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, sampled: true, null);

    [Fact]
    public void RequestScope_ReadLaterOutsideTheContext_HoldsTheValuesOfWhenItWasWritten()
    {
        var provider = Provider();
        var call = new TestCall();
        var user = new SourceUser(call, new RequestContextSettings(new RequestContextOptions()));
        var scopes = new List<IReadOnlyList<KeyValuePair<string, object?>>>();

        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, Trace, RequestContext.User, (ICurrentUser)user);
            scopes.Add(ScopeOf(provider));

            // Authentication runs after the first event was written.
            call.CurrentPrincipal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice"), new Claim("name", "Alice")], "test"));
            scopes.Add(ScopeOf(provider));
        });

        // Read here, outside the request's context, as an exporter's thread reads them.
        Assert.Equal(["RequestId=req-1", "TraceId=4bf92f3577b34da6a3ce929d0e0e4736", "SpanId=00f067aa0ba902b7"], Pairs(scopes[0]));
        Assert.Equal(
            ["RequestId=req-1", "UserId=alice", "UserName=Alice", "TraceId=4bf92f3577b34da6a3ce929d0e0e4736", "SpanId=00f067aa0ba902b7"],
            Pairs(scopes[1]));
    }

    [Fact]
    public void RequestScope_Reading_AllocatesNothing()
    {
        var provider = Provider();
        var scope = new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-2", RequestContext.Trace, Trace);
            return ScopeOf(provider);
        });

        var before = GC.GetAllocatedBytesForCurrentThread();
        var length = 0;
        for (var i = 0; i < 1000; i++)
        {
            for (var j = 0; j < scope.Count; j++)
            {
                length += scope[j].Key.Length;
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(length > 0);
    }

    [Fact]
    public void RequestScope_SameRequestAndUser_IsOneObject_ForEveryEvent()
    {
        var provider = Provider();

        var (first, second) = new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-3", RequestContext.Trace, Trace);
            return (ScopeOf(provider), ScopeOf(provider));
        });

        Assert.Same(first, second);
    }

    [Fact]
    public void RequestScope_OutsideARequest_IsAbsent()
    {
        var provider = Provider();
        var count = 0;

        provider.ForEachScope((_, _) => count++, 0);

        Assert.Equal(0, count);
    }

    private static RequestScopeProvider Provider() =>
        new(Options.Create(new LoggerFactoryOptions { ActivityTrackingOptions = ActivityTrackingOptions.None }), Options.Create(new RequestContextOptions()));

    private static IReadOnlyList<KeyValuePair<string, object?>> ScopeOf(RequestScopeProvider provider)
    {
        IReadOnlyList<KeyValuePair<string, object?>>? found = null;
        provider.ForEachScope((scope, _) => found = (IReadOnlyList<KeyValuePair<string, object?>>)scope!, 0);
        return found!;
    }

    private sealed class TestCall : IncomingCallSource
    {
        public ClaimsPrincipal? CurrentPrincipal { get; set; }

        public override System.Net.IPAddress? RemoteAddress => null;

        public override ClaimsPrincipal? Principal => CurrentPrincipal;

        public override Microsoft.Extensions.Primitives.StringValues GetHeader(string name) => default;
    }

    private static string[] Pairs(IReadOnlyList<KeyValuePair<string, object?>> scope) => [.. scope.Select(pair => $"{pair.Key}={pair.Value}")];
}
