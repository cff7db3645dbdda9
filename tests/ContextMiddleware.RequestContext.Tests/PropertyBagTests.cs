using ContextMiddleware.AspNetCore;
using ContextMiddleware.AspNetCore.Internal.Properties;

namespace ContextMiddleware.Requests.Tests;

/// <summary>The request's property set on its own: names, values as kept, concurrent writers, snapshots.</summary>
public class PropertyBagTests
{
    [Theory]
    [InlineData("tenant", true)]
    [InlineData("_x.y-z9", true)]
    [InlineData("", false)]
    [InlineData("9lives", false)]
    [InlineData("has space", false)]
    [InlineData("crlf\r\n", false)]
    [InlineData("ünï", false)]
    [InlineData("RequestId", false)]
    [InlineData("userid", false)]
    public void Names_follow_the_rule(string name, bool valid) => Assert.Equal(valid, PropertyNames.IsValid(name));

    [Fact]
    public void Values_are_kept_as_immutable_scalars_or_their_invariant_text()
    {
        var bag = new PropertyBag(null);
        var list = new List<int> { 1 };

        bag.Set("n", 42);
        bag.Set("d", 1.5m);
        bag.Set("e", DayOfWeek.Friday);
        bag.Set("o", list);

        Assert.True(bag.TryGet("n", out var n) && n is 42);
        Assert.True(bag.TryGet("d", out var d) && d is 1.5m);
        Assert.True(bag.TryGet("e", out var e) && e is "Friday");
        Assert.True(bag.TryGet("o", out var o) && o is string);
    }

    [Fact]
    public void A_snapshot_never_changes_after_it_was_read()
    {
        var bag = new PropertyBag(null);
        bag.Set("a", 1);
        var before = bag.Snapshot;

        bag.Set("a", 2);
        bag.Set("b", 3);
        bag.Remove("a");

        Assert.Equal([new("a", 1)], before.Items);
        Assert.Equal([new("b", (object?)3)], bag.Snapshot.Items);
    }

    [Fact]
    public async Task Concurrent_writers_lose_nothing_and_the_limit_holds()
    {
        var bag = new PropertyBag(null);

        var stored = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => bag.Set($"p{i}", i))));

        Assert.Equal(32, stored.Count(ok => ok));
        Assert.Equal(32, bag.Snapshot.Items.Length);
        Assert.Equal(32, bag.Snapshot.Items.Select(item => item.Key).Distinct().Count());
    }

    [Fact]
    public void Outside_a_request_nothing_is_kept()
    {
        Assert.False(RequestContext.Properties.Set("tenant", "t"));
        Assert.False(RequestContext.Properties.Remove("tenant"));
        Assert.Empty(RequestContext.Properties.GetAll());
    }
}
