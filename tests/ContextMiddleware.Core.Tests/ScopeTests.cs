using ContextMiddleware.Internal;

namespace ContextMiddleware.Tests;

public class ScopeTests
{
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    [InlineData(4, true)]
    public void RandomOperations_MatchADictionary_AndOldVersionsNeverChange(int seed, bool forceCollisions)
    {
        var random = new Random(seed);
        var keys = Enumerable.Range(0, 300)
            .Select(i => forceCollisions
                ? new ContextVar<int>($"k{i}", (uint)random.Next(0, 16) * 0x11111111u)
                : new ContextVar<int>($"k{i}"))
            .ToArray();
        var map = Scope.Empty;
        var expected = new Dictionary<ContextVar, object?>();
        var history = new List<(Scope Map, Dictionary<ContextVar, object?> Contents)>();

        for (var step = 0; step < 5_000; step++)
        {
            var key = keys[random.Next(keys.Length)];
            if (random.Next(3) == 0)
            {
                map = map.Remove(key);
                expected.Remove(key);
            }
            else
            {
                map = map.SetItem(key, step);
                expected[key] = step;
            }

            if (step % 250 == 0)
            {
                history.Add((map, new Dictionary<ContextVar, object?>(expected)));
            }

            Assert.Equal(expected.Count, map.Count);
        }

        AssertSameContents(expected, map, keys);
        foreach (var (oldMap, contents) in history)
        {
            AssertSameContents(contents, oldMap, keys);
        }
    }

    [Fact]
    public void Remove_AbsentKey_ReturnsTheSameMap()
    {
        var map = Scope.Empty.SetItem(new ContextVar<int>("a"), 1);

        Assert.Same(map, map.Remove(new ContextVar<int>("b")));
    }

    [Fact]
    public void Remove_LastKey_LeavesAnEmptyScope()
    {
        var key = new ContextVar<int>("a");

        var empty = Scope.Empty.SetItem(key, 1).Remove(key);

        Assert.Equal(0, empty.Count);
        Assert.Empty(empty.Enumerate());
        Assert.False(empty.TryGetValue(key, out _));
    }

    private static void AssertSameContents(Dictionary<ContextVar, object?> expected, Scope map, ContextVar[] keys)
    {
        Assert.Equal(expected.Count, map.Count);
        foreach (var key in keys)
        {
            var found = map.TryGetValue(key, out var value);
            Assert.Equal(expected.TryGetValue(key, out var expectedValue), found);
            Assert.Equal(expectedValue, value);
        }

        var enumerated = map.Enumerate().ToList();
        Assert.Equal(expected.Count, enumerated.Count);
        Assert.Equal(expected.Count, enumerated.Select(entry => entry.Key).Distinct().Count());
        foreach (var entry in enumerated)
        {
            Assert.Equal(expected[entry.Key], entry.Value);
        }
    }
}
