using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>
/// A SignalR JSON-protocol client over a raw WebSocket: sends invocations with whatever headers a test gives (the .NET
/// client writes only the trace headers of its Activity), and reads the completions.
/// </summary>
public sealed class RawHubClient : IAsyncDisposable
{
    private const char RecordSeparator = '\u001e';
    private readonly ClientWebSocket _socket = new();
    private readonly StringBuilder _pending = new();
    private int _invocationId;

    public static async Task<RawHubClient> ConnectAsync(Uri baseAddress, string path, string? accessToken = null)
    {
        var client = new RawHubClient();
        if (accessToken is not null)
        {
            client._socket.Options.SetRequestHeader("Authorization", $"Bearer {accessToken}");
        }

        var uri = new UriBuilder(baseAddress) { Scheme = "ws", Path = path }.Uri;
        await client._socket.ConnectAsync(uri, CancellationToken.None);
        await client.SendAsync("""{"protocol":"json","version":1}""");
        var handshake = await client.ReceiveAsync();
        if (handshake.Count != 0 && handshake["error"] is not null)
        {
            throw new InvalidOperationException($"Handshake failed: {handshake}");
        }

        return client;
    }

    /// <summary>Invokes <paramref name="target"/> with <paramref name="headers"/>, and returns its completion message.</summary>
    public async Task<JsonObject> InvokeAsync(string target, object?[] arguments, IReadOnlyDictionary<string, string>? headers = null)
    {
        var id = await SendAsync(target, arguments, headers);
        while (true)
        {
            var received = await ReceiveAsync();
            if ((int?)received["type"] == 3 && (string?)received["invocationId"] == id)
            {
                return received;
            }
        }
    }

    /// <summary>Sends an invocation without waiting for it; returns its invocation id.</summary>
    public async Task<string> SendAsync(string target, object?[] arguments, IReadOnlyDictionary<string, string>? headers = null)
    {
        var id = Interlocked.Increment(ref _invocationId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var message = new JsonObject
        {
            ["type"] = 1,
            ["invocationId"] = id,
            ["target"] = target,
            ["arguments"] = JsonSerializer.SerializeToNode(arguments),
        };
        if (headers is not null)
        {
            message["headers"] = JsonSerializer.SerializeToNode(headers);
        }

        await SendAsync(message.ToJsonString());
        return id;
    }

    /// <summary>Reads until <paramref name="count"/> completions came, in whatever order; by invocation id.</summary>
    public async Task<Dictionary<string, JsonObject>> ReceiveCompletionsAsync(int count)
    {
        var completions = new Dictionary<string, JsonObject>();
        while (completions.Count < count)
        {
            var message = await ReceiveAsync();
            if ((int?)message["type"] == 3)
            {
                completions[(string)message["invocationId"]!] = message;
            }
        }

        return completions;
    }

    private async Task SendAsync(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json + RecordSeparator);
        await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
    }

    private async Task<JsonObject> ReceiveAsync()
    {
        var buffer = new byte[8192];
        while (true)
        {
            var text = _pending.ToString();
            var end = text.IndexOf(RecordSeparator, StringComparison.Ordinal);
            if (end >= 0)
            {
                _pending.Remove(0, end + 1);
                return (JsonObject)JsonNode.Parse(text[..end])!;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var result = await _socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("The server closed the connection.");
            }

            _pending.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        _socket.Dispose();
    }
}
