namespace ContextMiddleware.Tests;

public class ContextTests
{
    private static readonly ContextVar<string> Name = new("name", "default");
    private static readonly ContextVar<int> Number = new("number");

    [Fact]
    public void NewContext_IsEmpty()
    {
        var ctx = new Context();

        Assert.Empty(ctx);
        Assert.Equal(0, ctx.Count);
        Assert.Empty(ctx.Keys);
        Assert.Empty(ctx.Values);
    }

    [Fact]
    public void CopyCurrent_ListsOnlyValuesThatWereSet()
    {
        new Context().Run(() =>
        {
            Number.Set(5);

            var ctx = Context.CopyCurrent();

            Assert.Equal(1, ctx.Count);
            Assert.True(ctx.ContainsKey(Number));
            Assert.False(ctx.ContainsKey(Name)); // only a default
            Assert.Equal(5, ctx[Number]);
            Assert.Equal([Number], ctx.Keys);
            Assert.Equal([(object?)5], ctx.Values);
            Assert.Equal([new KeyValuePair<ContextVar, object?>(Number, 5)], ctx);
        });
    }

    [Fact]
    public void Indexer_VariableNotSet_ThrowsKeyNotFound()
    {
        var ctx = new Context();

        var error = Assert.Throws<KeyNotFoundException>(() => ctx[Name]);
        Assert.Contains("'name'", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => ctx[null!]);
    }

    [Fact]
    public void TryGetValue_TypedAndBoxed()
    {
        var ctx = new Context();
        ctx.Run(() => Number.Set(3));

        Assert.True(ctx.TryGetValue(Number, out int typed));
        Assert.Equal(3, typed);
        Assert.True(ctx.TryGetValue((ContextVar)Number, out var boxed));
        Assert.Equal(3, boxed);
        Assert.False(ctx.TryGetValue(Name, out string missing));
        Assert.Null(missing);
        Assert.False(ctx.TryGetValue((ContextVar)Name, out _));
    }

    [Fact]
    public void CopyCurrent_IsASnapshot()
    {
        new Context().Run(() =>
        {
            Number.Set(1);
            var ctx = Context.CopyCurrent();

            Number.Set(2);

            Assert.Equal(1, ctx[Number]);
            Assert.Equal(2, Number.Get());
        });
    }

    [Fact]
    public void Copy_IsIndependentOfTheOriginal()
    {
        var original = new Context();
        original.Run(() => Number.Set(1));

        var copy = original.Copy();
        copy.Run(() => Number.Set(2));

        Assert.Equal(1, original[Number]);
        Assert.Equal(2, copy[Number]);
    }

    [Fact]
    public void Run_GetSeesTheContextsValues_AndSetChangesTheContext()
    {
        new Context().Run(() =>
        {
            Name.Set("caller");
            var ctx = new Context();
            ctx.Run(() => Name.Set("inside"));

            var seen = ctx.Run(Name.Get);

            Assert.Equal("inside", seen);
            Assert.Equal("inside", ctx[Name]);
            Assert.Equal("caller", Name.Get());
        });
    }

    [Fact]
    public void Run_SetsPersistAcrossRuns()
    {
        var ctx = new Context();

        ctx.Run(() => Number.Set(1));
        ctx.Run(() => Number.Set(Number.Get() + 1));

        Assert.Equal(2, ctx.Run(Number.Get));
        Assert.Equal(2, ctx[Number]);
    }

    [Fact]
    public void Run_CallerContextIsRestoredExactly_EvenWhenTheCallbackThrows()
    {
        new Context().Run(() =>
        {
            Name.Set("caller");
            var ctx = Context.CopyCurrent();

            Assert.Throws<InvalidOperationException>(() => ctx.Run(() =>
            {
                Name.Set("inside");
                Number.Set(9);
                throw new InvalidOperationException("boom");
            }));

            Assert.Equal("caller", Name.Get());
            Assert.False(Number.TryGet(out _));
            Assert.Equal("inside", ctx[Name]);
            Assert.Equal(9, ctx[Number]);
            ctx.Run(() => { }); // not left entered
        });
    }

    [Fact]
    public void Run_MappingIsLiveWhileEntered()
    {
        var ctx = new Context();

        ctx.Run(() =>
        {
            Assert.False(ctx.ContainsKey(Number));
            Number.Set(1);
            Assert.Equal(1, ctx[Number]);
            Assert.Equal(1, ctx.Count);
            Number.Set(2);
            Assert.Equal(2, ctx[Number]);
            Assert.Equal(2, ctx.Copy()[Number]);
        });
    }

    [Fact]
    public void Run_NestedContexts_OuterMappingShowsItsSetsSoFar()
    {
        var outer = new Context();
        var inner = new Context();

        outer.Run(() =>
        {
            Number.Set(1);
            inner.Run(() =>
            {
                Assert.False(Number.TryGet(out _));
                Assert.Equal(1, outer[Number]);
                Number.Set(2);
            });
            Assert.Equal(1, Number.Get());
        });

        Assert.Equal(1, outer[Number]);
        Assert.Equal(2, inner[Number]);
    }

    [Fact]
    public void Run_AlreadyEnteredOnThisThread_ThrowsInvalidOperation()
    {
        var ctx = new Context();

        ctx.Run(() =>
        {
            var error = Assert.Throws<InvalidOperationException>(() => ctx.Run(() => { }));
            Assert.Contains("already entered", error.Message, StringComparison.Ordinal);
        });

        ctx.Run(() => { });
    }

    [Fact]
    public void Run_AlreadyEnteredOnAnotherThread_ThrowsInvalidOperation()
    {
        var ctx = new Context();
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var thread = new Thread(() => ctx.Run(() =>
        {
            entered.Set();
            release.Wait();
        }));
        thread.Start();
        entered.Wait();

        try
        {
            Assert.Throws<InvalidOperationException>(() => ctx.Run(() => { }));
        }
        finally
        {
            release.Set();
            thread.Join();
        }

        ctx.Run(() => { });
    }

    [Fact]
    public void Run_ReturnsTheResult_AndChecksArguments()
    {
        var ctx = new Context();

        Assert.Equal(42, ctx.Run(() => 42));
        Assert.Throws<ArgumentNullException>("action", () => ctx.Run(null!));
        Assert.Throws<ArgumentNullException>("func", () => ctx.Run<int>(null!));
    }

    [Fact]
    public void Run_NewContext_ShowsOnlyDefaults()
    {
        Name.Set("set outside");

        var seen = new Context().Run(() => (Name.Get(), Number.TryGet(out _)));

        Assert.Equal(("default", false), seen);
        Assert.Equal("set outside", Name.Get());
    }

    [Fact]
    public async Task Run_TaskStartedInside_StartsFromASnapshot_AndItsSetsStayInTheTask()
    {
        var ctx = new Context();

        var task = ctx.Run(() =>
        {
            Number.Set(1);
            return Task.Run(() =>
            {
                var seen = Number.Get();
                Number.Set(100);
                return seen;
            });
        });

        Assert.Equal(1, await task);
        Assert.Equal(1, ctx[Number]);
    }

    [Fact]
    public async Task Run_AsyncCallback_SeesTheContext_ButItsSetsStayInTheCallback()
    {
        // Documented divergence: an async callback is an async method, and .NET gives every async method its own
        // copy-on-write view: it starts from the context's values, but its sets are not written back to it.
        var ctx = new Context();
        ctx.Run(() => Name.Set("in ctx"));
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var task = ctx.Run(async () =>
        {
            var before = Name.Get();
            Number.Set(1);
            await gate.Task;
            Number.Set(Number.Get() + 1);
            return (before, Number.Get());
        });
        gate.SetResult();

        Assert.Equal(("in ctx", 2), await task);
        Assert.False(ctx.ContainsKey(Number));
    }

    [Fact]
    public void Run_RestoresEveryAsyncLocalOnExit()
    {
        // Documented divergence: leaving Run restores the caller's whole ExecutionContext, like ExecutionContext.Run.
        var other = new AsyncLocal<string>();
        new Context().Run(() =>
        {
            other.Value = "caller";

            new Context().Run(() => other.Value = "inside");

            Assert.Equal("caller", other.Value);
        });
    }

    [Fact]
    public void Run_UnderSuppressedFlow_StillRestoresTheCaller()
    {
        new Context().Run(() =>
        {
            Number.Set(1);
            using (ExecutionContext.SuppressFlow())
            {
                var ctx = new Context();
                ctx.Run(() => Number.Set(2));
                Assert.Equal(1, Number.Get());
                Assert.Equal(2, ctx[Number]);
            }
        });
    }

    [Fact]
    public void Run_RepeatedFromAChangingCaller_SeesTheCallersOtherAsyncLocals()
    {
        var other = new AsyncLocal<string>();
        var ctx = new Context();

        new Context().Run(() =>
        {
            other.Value = "a";
            Assert.Equal("a", ctx.Run(() => other.Value));
            Assert.Equal("a", ctx.Run(() => other.Value));
            other.Value = "b";
            Assert.Equal("b", ctx.Run(() => other.Value));
            ctx.Run(() => Number.Set(5));
            Assert.Equal((5, "b"), ctx.Run(() => (Number.Get(), other.Value)));
        });
    }

    [Fact]
    public void Run_AfterANestedRun_SeesTheOuterSetsNextTime()
    {
        var outer = new Context();
        var inner = new Context();
        outer.Run(() => { });

        outer.Run(() =>
        {
            Number.Set(1);
            inner.Run(() => { });
        });

        Assert.Equal(1, outer.Run(Number.Get));
    }

    [Fact]
    public void Run_MappingReadFromAnotherThreadWhileEntered_ShowsTheValuesAtEntry()
    {
        // Documented divergence: the live view belongs to the flow that runs the context; any other flow sees the
        // values the context held when it was entered, and every set once the run has ended.
        var ctx = new Context();
        ctx.Run(() => Number.Set(1));
        using var setInside = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var thread = new Thread(() => ctx.Run(() =>
        {
            Number.Set(2);
            setInside.Set();
            release.Wait();
        }));
        thread.Start();
        setInside.Wait();

        var seenDuringRun = ctx[Number];
        release.Set();
        thread.Join();

        Assert.Equal(1, seenDuringRun);
        Assert.Equal(2, ctx[Number]);
    }

    [Fact]
    public void Equals_IsReferenceEquality()
    {
        // Documented divergence: Python's Context compares as a mapping; a .NET Context is a reference type.
        var ctx = new Context();

        Assert.True(ctx.Equals(ctx));
        Assert.False(new Context().Equals(new Context()));
        Assert.False(ctx.Equals(ctx.Copy()));
    }
}
