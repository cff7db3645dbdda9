using ContextMiddleware.RabbitMQ.Internal;

namespace ContextMiddleware.RabbitMQ.Tests;

/// <summary>The headers a message is published with: the app's kept, the context's added, one of each name.</summary>
public sealed class ContextHeadersTests
{
    [Fact]
    public void KeepsTheAppsHeaders_WithoutChangingTheAppsDictionary()
    {
        var app = new Dictionary<string, object?> { ["x-app"] = "one", ["X-Request-ID"] = "set-by-app" };
        var headers = new ContextHeaders(app);
        headers.SetContextHeader("X-Request-ID", "req-1");
        headers.SetContextHeader("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        Assert.Equal(["x-app", "X-Request-ID", "traceparent"], headers.Keys);
        Assert.Equal("req-1", headers["X-Request-ID"]);
        Assert.Equal("set-by-app", app["X-Request-ID"]);
        Assert.Equal(2, app.Count);
    }

    [Fact]
    public void TheClientsBaggageDoesNotReplaceTheContexts_ItsTraceHeadersDo()
    {
        var headers = new ContextHeaders(null);
        headers.SetContextHeader("baggage", "tenant=acme");
        headers.SetContextHeader("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");

        // As RabbitMQ.Client's injector writes (IDictionary indexer).
        WriteAsTheClient(headers, "baggage", "tenant=caller");
        WriteAsTheClient(headers, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01");

        Assert.Equal("tenant=acme", headers["baggage"]);
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01", headers["traceparent"]);
        Assert.Equal(2, headers.Count);
    }

    private static void WriteAsTheClient(object carrier, string name, string value)
    {
        if (carrier is IDictionary<string, object> headers)
        {
            headers[name] = value;
        }
    }

    [Fact]
    public void BehavesAsADictionary()
    {
        var headers = new ContextHeaders(null);
        for (var i = 0; i < 20; i++)
        {
            headers.Add($"h{i}", i);
        }

        Assert.Throws<ArgumentException>(() => headers.Add("h3", 0));
        Assert.Throws<KeyNotFoundException>(() => headers["missing"]);
        Assert.True(headers.Remove("h3"));
        Assert.False(headers.ContainsKey("h3"));
        Assert.True(headers.TryGetValue("h19", out var value));
        Assert.Equal(19, value);
        Assert.Equal(19, headers.Count);
        Assert.Contains(new KeyValuePair<string, object?>("h4", 4), headers);
        var copy = new KeyValuePair<string, object?>[19];
        headers.CopyTo(copy, 0);
        Assert.Equal("h4", copy[3].Key);
        headers.Clear();
        Assert.Empty(headers);
    }
}
