using System.Net.Sockets;
using System.Text;

namespace ContextMiddleware.Testing;

/// <summary>Sends bytes no HttpClient would (CR/LF inside a header, bytes above 0x7F) over a raw TCP connection.</summary>
public static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> (Latin-1 bytes) and returns the response's status code, or a note when the server closed the connection.</summary>
    public static async Task<string> SendAsync(Uri baseAddress, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while (!response.ToString().Contains("\r\n", StringComparison.Ordinal) && (read = await stream.ReadAsync(buffer)) > 0)
        {
            response.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        var parts = response.ToString().Split("\r\n")[0].Split(' ');
        return parts.Length > 1 ? parts[1] : "(connection closed without a response)";
    }
}
