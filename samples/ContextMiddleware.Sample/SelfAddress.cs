using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace ContextMiddleware.Sample;

/// <summary>
/// Where the payment service is: <c>Sample:PaymentsBaseAddress</c> when set, otherwise this app's own address (the
/// first one Kestrel listens on, a wildcard host read as 127.0.0.1).
/// </summary>
internal sealed class SelfAddress(IServer server, IConfiguration configuration)
{
    private Uri? _paymentsBaseAddress;

    /// <summary>Found once, on the first call (the server listens by then); a typed client asks on every request.</summary>
    public Uri PaymentsBaseAddress => _paymentsBaseAddress ??= Find();

    private Uri Find()
    {
        if (configuration[$"{SampleApp.SectionName}:PaymentsBaseAddress"] is { Length: > 0 } configured)
        {
            return new Uri(configured, UriKind.Absolute);
        }

        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException(
                $"The payment call needs an address: the server listens on none; set {SampleApp.SectionName}:PaymentsBaseAddress.");
        var uri = new UriBuilder(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]")
        {
            uri.Host = "127.0.0.1";
        }

        return uri.Uri;
    }
}
