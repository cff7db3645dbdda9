namespace ContextMiddleware.Sample;

/// <summary>What <c>dotnet run</c> prints once the app listens: curl commands to try against it.</summary>
internal static class TryCommands
{
    public static void Write(TextWriter output, WebApplication app)
    {
        var address = app.Urls.FirstOrDefault(url => url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? app.Urls.First();
        address = address.TrimEnd('/');

        output.WriteLine($"ContextMiddleware sample listening on {address} ({app.Environment.EnvironmentName}). Try:");
        output.WriteLine($"  curl -i {address}/orders/1001 -H 'X-Request-ID: req-123'");
        if (app.Environment.IsDevelopment())
        {
            output.WriteLine($"  TOKEN=$(curl -s -X POST '{address}/dev/token?user=alice')");
            output.WriteLine($"  curl -i {address}/orders/1002 -H 'X-Request-ID: req-456' -H \"Authorization: Bearer $TOKEN\"");
            output.WriteLine($"  curl -i {address}/me -H \"Authorization: Bearer $TOKEN\"");
        }

        output.WriteLine("Or the self-running demo: dotnet run --project samples/ContextMiddleware.Sample -- demo");
        output.Flush();
    }
}
