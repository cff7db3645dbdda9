namespace ContextMiddleware.Tests;

public class ContextVarTests
{
    [Fact]
    public void Constructor_NullName_Throws()
    {
        Assert.Throws<ArgumentNullException>("name", () => new ContextVar<int>(null!));
        Assert.Throws<ArgumentNullException>("name", () => new ContextVar<int>(null!, 5));
    }

    [Fact]
    public void Properties_DescribeTheVariable()
    {
        var plain = new ContextVar<string>("plain");
        var withDefault = new ContextVar<int>("counter", 3);

        Assert.Equal("plain", plain.Name);
        Assert.False(plain.HasDefault);
        Assert.Equal(typeof(string), plain.ValueType);
        Assert.Equal("counter", withDefault.Name);
        Assert.True(withDefault.HasDefault);
        Assert.Equal(typeof(int), withDefault.ValueType);
        Assert.Equal("<ContextVar name='plain'>", plain.ToString());
        Assert.Equal("<ContextVar name='counter' default=3>", withDefault.ToString());
        Assert.Equal("<ContextVar name='s' default='none'>", new ContextVar<string>("s", "none").ToString());
    }

    [Fact]
    public void Get_NotSetAndNoDefault_ThrowsKeyNotFound()
    {
        var variable = new ContextVar<string>("request_id");

        var error = Assert.Throws<KeyNotFoundException>(() => variable.Get());
        Assert.Contains("request_id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_NotSet_ReturnsDefault()
    {
        var variable = new ContextVar<string>("request_id", "none");

        Assert.Equal("none", variable.Get());
    }

    [Fact]
    public void GetWithFallback_WinsOverDefault_ButNotOverASetValue()
    {
        var variable = new ContextVar<string>("request_id", "default");

        Assert.Equal("fallback", variable.Get("fallback"));
        using (variable.Set("set"))
        {
            Assert.Equal("set", variable.Get("fallback"));
        }

        Assert.Equal("fallback", new ContextVar<string>("no_default").Get("fallback"));
    }

    [Fact]
    public void TryGet_DefaultDoesNotCount()
    {
        var variable = new ContextVar<int>("counter", 7);

        Assert.False(variable.TryGet(out var before));
        Assert.Equal(0, before);
        var token = variable.Set(42);
        Assert.True(variable.TryGet(out var after));
        Assert.Equal(42, after);
        variable.Reset(token);
        Assert.False(variable.TryGet(out _));
    }

    [Fact]
    public void Set_ReturnsTokenWithOldValue()
    {
        var variable = new ContextVar<string>("user", "guest");

        var first = variable.Set("alice");
        var second = variable.Set("bob");

        Assert.Same(variable, first.Var);
        Assert.False(first.HasOldValue);
        Assert.Null(first.OldValue);
        Assert.True(second.HasOldValue);
        Assert.Equal("alice", second.OldValue);
        Assert.Equal("bob", variable.Get());
        variable.Reset(second);
        variable.Reset(first);
    }

    [Fact]
    public void Reset_RestoresPreviousValue_ThenDefault()
    {
        var variable = new ContextVar<string>("user", "guest");
        var first = variable.Set("alice");
        var second = variable.Set("bob");

        variable.Reset(second);
        Assert.Equal("alice", variable.Get());
        variable.Reset(first);
        Assert.Equal("guest", variable.Get());
        Assert.False(variable.TryGet(out _));
    }

    [Fact]
    public void Reset_OutOfOrder_RestoresEachTokensOldValue()
    {
        // As in CPython: reset writes the token's old value, whatever happened since.
        var variable = new ContextVar<int>("n");
        var first = variable.Set(1);
        var second = variable.Set(2);

        variable.Reset(first);
        Assert.False(variable.TryGet(out _));
        variable.Reset(second);
        Assert.Equal(1, variable.Get());
    }

    [Fact]
    public void Reset_AfterOtherVariablesChanged_KeepsTheirValues()
    {
        var a = new ContextVar<int>("a");
        var b = new ContextVar<int>("b");
        var tokenA = a.Set(1);
        b.Set(2);

        a.Reset(tokenA);

        Assert.False(a.TryGet(out _));
        Assert.Equal(2, b.Get());
    }

    [Fact]
    public void Reset_TokenOfAnotherVariable_ThrowsArgumentException()
    {
        var a = new ContextVar<int>("a");
        var b = new ContextVar<int>("b");
        var token = a.Set(1);

        var error = Assert.Throws<ArgumentException>("token", () => b.Reset(token));
        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, a.Get());
    }

    [Fact]
    public void Reset_TwiceWithTheSameToken_ThrowsInvalidOperation()
    {
        var variable = new ContextVar<int>("n");
        var token = variable.Set(1);
        variable.Reset(token);

        Assert.Throws<InvalidOperationException>(() => variable.Reset(token));
    }

    [Fact]
    public void Reset_UsedTokenOfAnotherVariable_ReportsUsedFirst()
    {
        // CPython checks tok_used before the variable.
        var a = new ContextVar<int>("a");
        var b = new ContextVar<int>("b");
        var token = a.Set(1);
        a.Reset(token);

        Assert.Throws<InvalidOperationException>(() => b.Reset(token));
    }

    [Fact]
    public void Reset_TokenCreatedInsideAnotherContext_ThrowsArgumentException()
    {
        var variable = new ContextVar<int>("n");
        var ctx = new Context();
        var inner = ctx.Run(() => variable.Set(1));

        Assert.Throws<ArgumentException>("token", () => variable.Reset(inner));

        var outer = variable.Set(2);
        Assert.Throws<ArgumentException>("token", () => ctx.Run(() => variable.Reset(outer)));
        Assert.Throws<ArgumentException>("token", () => new Context().Run(() => variable.Reset(outer)));

        // Each token still works where it was created.
        ctx.Run(() => variable.Reset(inner));
        Assert.False(ctx.ContainsKey(variable));
        variable.Reset(outer);
    }

    [Fact]
    public void Reset_NullToken_Throws()
    {
        Assert.Throws<ArgumentNullException>("token", () => new ContextVar<int>("n").Reset(null!));
    }

    [Fact]
    public void TokenDispose_Resets_AndIsANoOpOnceUsed()
    {
        var variable = new ContextVar<string>("user", "guest");

        using (var token = variable.Set("alice"))
        {
            Assert.Equal("alice", variable.Get());
            Assert.Equal("<Token var=<ContextVar name='user' default='guest'>>", token.ToString());
        }

        Assert.Equal("guest", variable.Get());

        var reset = variable.Set("bob");
        variable.Reset(reset);
        reset.Dispose();
        reset.Dispose();
        Assert.Equal("guest", variable.Get());
        Assert.Equal("<Token used var=<ContextVar name='user' default='guest'>>", reset.ToString());
    }

    [Fact]
    public void TokenDispose_InAnotherContext_ThrowsArgumentException()
    {
        var variable = new ContextVar<int>("n");
        var token = variable.Set(1);

        Assert.Throws<ArgumentException>(() => new Context().Run(token.Dispose));
        token.Dispose();
        Assert.False(variable.TryGet(out _));
    }

    [Fact]
    public void Set_NullAndNullableValues_AreValues()
    {
        var text = new ContextVar<string?>("text", "default");
        var number = new ContextVar<int?>("number", 5);

        text.Set(null);
        number.Set(null);

        Assert.True(text.TryGet(out var textValue));
        Assert.Null(textValue);
        Assert.Null(text.Get());
        Assert.True(number.TryGet(out var numberValue));
        Assert.Null(numberValue);
        Assert.Null(number.Get());
    }

    [Fact]
    public void Set_ValueTypes_RoundTrip()
    {
        var number = new ContextVar<long>("number");
        var guid = new ContextVar<Guid>("guid");
        var id = Guid.NewGuid();

        number.Set(long.MaxValue);
        guid.Set(id);

        Assert.Equal(long.MaxValue, number.Get());
        Assert.Equal(id, guid.Get());
    }

    [Fact]
    public void VariablesWithTheSameName_AreDistinct()
    {
        var first = new ContextVar<int>("same");
        var second = new ContextVar<int>("same");

        first.Set(1);

        Assert.False(second.TryGet(out _));
        Assert.Equal(1, first.Get());
    }

    [Fact]
    public void ManyVariables_EachKeepsItsOwnValue()
    {
        var baseline = Context.CopyCurrent().Count;
        var variables = Enumerable.Range(0, 1_000).Select(i => new ContextVar<int>($"v{i}")).ToArray();
        var tokens = variables.Select((variable, i) => variable.Set(i)).ToArray();

        for (var i = 0; i < variables.Length; i++)
        {
            Assert.Equal(i, variables[i].Get());
        }

        Assert.Equal(baseline + 1_000, Context.CopyCurrent().Count);
        for (var i = variables.Length - 1; i >= 0; i--)
        {
            variables[i].Reset(tokens[i]);
        }

        Assert.Equal(baseline, Context.CopyCurrent().Count);
    }

    [Fact]
    public void VariablesWithCollidingHashes_AreKeptApart()
    {
        // Force full 32-bit hash collisions, and partial ones that share the first trie levels.
        var baseline = Context.CopyCurrent().Count;
        var colliding = Enumerable.Range(0, 5).Select(i => new ContextVar<int>($"c{i}", 0xABCDEF01u)).ToArray();
        var sharingPrefix = Enumerable.Range(0, 5).Select(i => new ContextVar<int>($"p{i}", 0xABCDEF01u ^ ((uint)(i + 1) << 30))).ToArray();
        var all = colliding.Concat(sharingPrefix).ToArray();

        var tokens = all.Select((variable, i) => variable.Set(i * 10)).ToArray();
        for (var i = 0; i < all.Length; i++)
        {
            Assert.Equal(i * 10, all[i].Get());
        }

        all[2].Reset(tokens[2]);
        all[7].Reset(tokens[7]);
        Assert.False(all[2].TryGet(out _));
        Assert.False(all[7].TryGet(out _));
        Assert.Equal(30, all[3].Get());
        Assert.Equal(80, all[8].Get());
        Assert.Equal(baseline + all.Length - 2, Context.CopyCurrent().Count);
    }

    [Fact]
    public void SetMany_SetsEveryVariable_AndTheLastValueOfARepeatedVariableWins()
    {
        var a = new ContextVar<string>("a");
        var b = new ContextVar<int>("b", -1);
        var c = new ContextVar<Guid?>("c");
        var d = new ContextVar<object?>("d");

        new Context().Run(() =>
        {
            ContextVar.SetMany(a, "x", b, 1);
            Assert.Equal(("x", 1), (a.Get(), b.Get()));

            ContextVar.SetMany(a, "y", b, 2, c, null);
            Assert.Equal(("y", 2), (a.Get(), b.Get()));
            Assert.True(c.TryGet(out var cValue));
            Assert.Null(cValue);

            ContextVar.SetMany(a, "z", b, 3, c, Guid.Empty, d, "object");
            Assert.Equal(("z", 3, Guid.Empty, "object"), (a.Get(), b.Get(), c.Get(), d.Get()));
            Assert.Equal(4, Context.CopyCurrent().Count);

            ContextVar.SetMany(b, 4, b, 5);
            Assert.Equal(5, b.Get());
        });
    }

    [Fact]
    public async Task SetMany_InsideAnAsyncMethod_IsUndoneWhenItReturns()
    {
        var a = new ContextVar<string>("a", "outer");
        var b = new ContextVar<string>("b", "outer");

        await Inner();

        Assert.Equal(("outer", "outer"), (a.Get(), b.Get()));

        async Task Inner()
        {
            ContextVar.SetMany(a, "inner", b, "inner");
            await Task.Yield();
            Assert.Equal(("inner", "inner"), (a.Get(), b.Get()));
        }
    }

    [Fact]
    public void SetMany_NullVariable_Throws()
    {
        var a = new ContextVar<int>("a");

        Assert.Throws<ArgumentNullException>("second", () => ContextVar.SetMany(a, 1, null!, 2));
        Assert.Throws<ArgumentNullException>("third", () => ContextVar.SetMany(a, 1, a, 2, null!, 3));
        Assert.Throws<ArgumentNullException>("first", () => ContextVar.SetMany<int, int, int, int>(null!, 1, a, 2, a, 3, a, 4));
    }

    [Fact]
    public void Reset_KeepsAnyOtherAsyncLocalChangedSinceTheSet()
    {
        var variable = new ContextVar<int>("n");
        var other = new AsyncLocal<string>();

        new Context().Run(() =>
        {
            other.Value = "before";
            var token = variable.Set(1);
            other.Value = "after";

            variable.Reset(token);

            Assert.Equal("after", other.Value);
            Assert.False(variable.TryGet(out _));

            var second = variable.Set(2);
            variable.Reset(second);
            Assert.Equal("after", other.Value);
        });
    }

    [Fact]
    public void Reset_UnderSuppressedFlow_Works()
    {
        var variable = new ContextVar<int>("n", -1);

        new Context().Run(() =>
        {
            using (ExecutionContext.SuppressFlow())
            {
                var token = variable.Set(1);
                Assert.Equal(1, variable.Get());
                variable.Reset(token);
                Assert.Equal(-1, variable.Get());
            }
        });
    }
}
