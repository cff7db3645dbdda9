using System.Diagnostics;
using ContextMiddleware.AspNetCore;

namespace ContextMiddleware.Requests.Tests;

public class TraceContextTests
{
    [Fact]
    public void GetOrAddState_KeepsOneStatePerKey_ForTheTraceContext()
    {
        var trace = new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, sampled: true, null);
        var (first, second) = (new object(), new object());

        var made = trace.GetOrAddState(first, static (_, name) => new List<string> { name }, "first");
        var again = trace.GetOrAddState(first, static (_, name) => new List<string> { name }, "not made");
        var other = trace.GetOrAddState(second, static (_, name) => new List<string> { name }, "second");

        Assert.Same(made, again);
        Assert.Equal(["first"], again);
        Assert.Equal(["second"], other);
    }

    [Fact]
    public async Task GetOrAddState_Concurrently_EveryCallerGetsTheKeptState()
    {
        var trace = new TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", null, sampled: true, null);
        var key = new object();

        var states = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => trace.GetOrAddState(key, static (_, _) => new object(), 0))));

        Assert.Single(states.Distinct());
    }

    [Fact]
    public void FromActivity_TakesTheActivitysIds()
    {
        using var activity = new Activity("test").SetParentId("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").Start();

        var trace = TraceContext.FromActivity(activity);

        Assert.Equal("4bf92f3577b34da6a3ce929d0e0e4736", trace.TraceId);
        Assert.Equal(activity.SpanId.ToHexString(), trace.SpanId);
        Assert.Equal("00f067aa0ba902b7", trace.ParentSpanId);
        Assert.True(trace.Sampled);
        Assert.Throws<ArgumentNullException>("activity", () => TraceContext.FromActivity(null!));
    }
}
