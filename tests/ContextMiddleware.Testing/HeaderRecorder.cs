using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ContextMiddleware.Testing;

/// <summary>
/// A bare HTTP/1.1 listener on 127.0.0.1 that records the raw header lines of every request it receives (no HTTP
/// stack of ours in between, so the tests see exactly what reached the wire), answers 200 with an empty body and
/// closes the connection.
/// </summary>
public sealed class HeaderRecorder : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public HeaderRecorder()
    {
        _listener.Start();
        BaseAddress = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri BaseAddress { get; }

    /// <summary>The requests received, by path: each a list of (name, value) header lines in arrival order.</summary>
    public ConcurrentDictionary<string, List<(string Name, string Value)>> Requests { get; } = new();

    /// <summary>The values of every header line named <paramref name="name"/> (case-insensitive) of one request.</summary>
    public string[] Values(string path, string name) =>
        [.. Requests[path].Where(line => string.Equals(line.Name, name, StringComparison.OrdinalIgnoreCase)).Select(line => line.Value)];

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var buffer = new byte[64 * 1024];
            var length = 0;
            int end;
            while ((end = IndexOfHeaderEnd(buffer.AsSpan(0, length))) < 0)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length));
                if (read == 0 || (length += read) == buffer.Length)
                {
                    return;
                }
            }

            var lines = Encoding.Latin1.GetString(buffer, 0, end).Split("\r\n");
            var path = lines[0].Split(' ')[1];
            Requests[path] = [.. lines.Skip(1).Select(line =>
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                return (line[..colon], line[(colon + 1)..].Trim(' ', '\t'));
            })];

            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        }
    }

    private static int IndexOfHeaderEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);
}
