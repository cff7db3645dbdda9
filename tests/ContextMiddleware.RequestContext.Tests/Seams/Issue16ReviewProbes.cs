using System.Runtime.CompilerServices;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.Requests.Tests.Seams;

/// <summary>
/// Review probes (issue 16) for the rewritten FrameworkScopeWalk of <see cref="RequestScopeProvider"/>: reentrancy,
/// the per-thread walk's reuse, callbacks that throw or log, concurrent threads, and what the walk keeps afterwards.
/// </summary>
public class Issue16ReviewProbes
{
    private static readonly TraceContext Trace = new("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, sampled: true, null);

    private static RequestScopeProvider Provider() =>
        new(Options.Create(new LoggerFactoryOptions { ActivityTrackingOptions = ActivityTrackingOptions.None }), Options.Create(new RequestContextOptions()));

    private static KeyValuePair<string, object?>[] Scope(string key, object? value) => [new(key, value)];

    private static int RequestIdCount(IEnumerable<object?> scopes) =>
        scopes.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s).Count(p => p.Key == "RequestId");

    // 1. Same provider, same TState, walk started inside the walk (a callback that logs through the same factory).
    [Fact]
    public void NestedWalk_SameProviderSameStateType_OuterKeepsItsCallbackAndState()
    {
        var provider = Provider();
        var outerState = new List<object?>();
        var innerState = new List<object?>();
        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, Trace);
            using var pushed1 = provider.Push(Scope("A", 1));
            using var pushed2 = provider.Push(Scope("B", 2));
            var nested = false;
            provider.ForEachScope((scope, state) =>
            {
                state.Add(scope);
                if (!nested)
                {
                    nested = true;
                    provider.ForEachScope((s, st) => st.Add(s), innerState);
                }
            }, outerState);
        });

        Assert.Equal(3, outerState.Count); // A, B, request scope
        Assert.Equal(3, innerState.Count);
        Assert.Equal(1, RequestIdCount(outerState));
        Assert.Equal(1, RequestIdCount(innerState));
    }

    // 2. The flag "a framework scope already carries the request's id" was thread-static, not the walk's: a walk made
    //    inside another (through a second provider, e.g. another host's logger factory on the same thread) reset it.
    //    It is the walk's own now.
    [Fact]
    public void NestedWalk_ThroughAnotherProvider_DoesNotChangeTheOuterWalksFinding()
    {
        var outer = Provider();
        var other = Provider();
        var seen = new List<object?>();
        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, Trace);
            // A framework scope that already carries the request's id (as hosting's does): the request scope must not
            // repeat it.
            using var hosting = outer.Push(Scope("RequestId", "req-1"));
            outer.ForEachScope((scope, state) =>
            {
                state.Add(scope);
                other.ForEachScope(static (_, _) => { }, 0); // e.g. a provider that logs while it renders a scope
            }, seen);
        });

        Assert.Equal(1, RequestIdCount(seen)); // failed before the fix: 2 (the request scope repeated RequestId)
    }

    // 3. A callback that throws: the exception reaches the caller, the thread's walk is reusable, the next walk is right.
    [Fact]
    public void CallbackThatThrows_Propagates_AndTheNextWalkOnTheThreadIsRight()
    {
        var provider = Provider();
        var seen = new List<object?>();
        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, Trace);
            using var pushed = provider.Push(Scope("RequestId", "req-1"));
            Assert.Throws<InvalidOperationException>(() =>
                provider.ForEachScope<List<object?>>((_, _) => throw new InvalidOperationException("boom"), seen));
            Assert.Empty(seen);
            provider.ForEachScope((scope, state) => state.Add(scope), seen);
        });

        Assert.Equal(2, seen.Count);
        Assert.Equal(1, RequestIdCount(seen));
    }

    // 4. The walk kept for the thread holds neither the caller's state nor its callback after the walk, thrown or not.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AfterTheWalk_TheCallersStateAndCallback_AreNotHeld(bool callbackThrows)
    {
        var (state, callback) = Walk(Provider(), callbackThrows);
        for (var i = 0; i < 3 && (state.IsAlive || callback.IsAlive); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.False(state.IsAlive, "state held");
        Assert.False(callback.IsAlive, "callback held");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (WeakReference State, WeakReference Callback) Walk(RequestScopeProvider provider, bool callbackThrows)
    {
        var state = new Payload();
        var marker = new object();
        Action<object?, Payload> callback = (_, p) =>
        {
            GC.KeepAlive(marker);
            p.Count++;
            if (callbackThrows)
            {
                throw new InvalidOperationException("boom");
            }
        };
        new Context().Run(() =>
        {
            RequestContext.RequestId.Set("req-1");
            try
            {
                provider.ForEachScope(callback, state);
            }
            catch (InvalidOperationException)
            {
            }
        });
        return (new WeakReference(state), new WeakReference(callback));
    }

    private sealed class Payload
    {
        public int Count { get; set; }
    }

    // 5. Threads at once, each in its own request, half with a framework scope carrying the id.
    [Fact]
    public void ConcurrentThreads_EachSeesItsOwnRequest_AndItsOwnFinding()
    {
        var provider = Provider();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            for (var i = 0; i < 2000; i++)
            {
                var id = $"req-{t}-{i}";
                var withHosting = i % 2 == 0;
                new Context().Run(() =>
                {
                    ContextVar.SetMany(RequestContext.RequestId, id, RequestContext.Trace, Trace);
                    using var pushed = withHosting ? provider.Push(Scope("RequestId", id)) : null;
                    var seen = new List<object?>();
                    provider.ForEachScope((scope, state) => state.Add(scope), seen);
                    var ids = seen.OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s)
                        .Where(p => p.Key == "RequestId").Select(p => (string?)p.Value).ToList();
                    if (ids.Count != 1 || ids[0] != id)
                    {
                        failures.Add($"{id}: [{string.Join(",", ids)}]");
                    }
                });
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(10)));
    }

    // 6. A value-type state is passed by value to every scope, as before (a tuple copy); mutations do not accumulate.
    [Fact]
    public void ValueTypeState_IsPassedAsACopy_ToEachScope()
    {
        var provider = Provider();
        var seen = new List<int>();
        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, Trace);
            using var a = provider.Push(Scope("A", 1));
            using var b = provider.Push(Scope("B", 2));
            provider.ForEachScope((_, state) => { seen.Add(state.Value); state.Value++; }, new MutableBox { Value = 7 });
        });

        Assert.Equal([7, 7, 7], seen);
    }

    private struct MutableBox
    {
        public int Value;
    }

    // 7. Hosting's scope of an enclosing request: passed on without its RequestId (the event's one RequestId is the
    //    current call's), and the same object each time.
    [Fact]
    public void EnclosingRequestsHostingScope_IsPassedWithoutItsRequestId()
    {
        var provider = Provider();
        var seen = new List<object?>();
        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "inner", RequestContext.Trace, Trace);
            using var hosting = provider.Push(new Microsoft.AspNetCore.Hosting.HostingLogScope("/hub", "outer"));
            provider.ForEachScope((scope, state) => state.Add(scope), seen);
            provider.ForEachScope((scope, state) => state.Add(scope), seen);
        });

        Assert.Equal(4, seen.Count);
        Assert.Same(seen[0], seen[2]);
        var first = Assert.IsAssignableFrom<IReadOnlyList<KeyValuePair<string, object?>>>(seen[0]);
        Assert.DoesNotContain(first, p => p.Key == "RequestId");
        Assert.Contains(first, p => p.Key == "RequestPath");
        Assert.Equal(["inner"], seen.Take(2).OfType<IEnumerable<KeyValuePair<string, object?>>>().SelectMany(s => s).Where(p => p.Key == "RequestId").Select(p => p.Value));
    }

    // 8. No allocation per walk after warm-up, as with the tuple before.
    [Fact]
    public void ForEachScope_AfterWarmUp_AllocatesNothing()
    {
        var provider = Provider();
        long allocated = -1;
        new Context().Run(() =>
        {
            ContextVar.SetMany(RequestContext.RequestId, "req-1", RequestContext.Trace, Trace);
            using var a = provider.Push(Scope("RequestId", "req-1"));
            using var b = provider.Push(Scope("B", 2));
            var counter = new int[1];
            for (var i = 0; i < 1000; i++)
            {
                provider.ForEachScope(static (_, c) => c[0]++, counter);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10_000; i++)
            {
                provider.ForEachScope(static (_, c) => c[0]++, counter);
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        });

        // The walk is reused per thread: nothing per walk (the runtime may allocate a few bytes once, tiering up the
        // loop). Its cost in time is ScopeWalkBenchmarks' (BenchmarkDotNet), not a timed test's.
        Assert.True(allocated < 10_000, $"{allocated} B for 10,000 walks");
    }
}
