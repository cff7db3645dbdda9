using System.Net;
using System.Net.Sockets;

namespace ContextMiddleware.AspNetCore.Internal.Trust;

/// <summary>The parsed <see cref="RequestContextOptions.TrustedNetworks"/>: CIDR blocks and single addresses.</summary>
internal sealed class TrustedNetworks
{
    private readonly IPNetwork[] _networks;

    /// <param name="values">Values the validator has checked.</param>
    public TrustedNetworks(IEnumerable<string> values) => _networks = [.. values.Select(Parse)];

    public bool Contains(IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="value"/> is a CIDR block or a single address.</summary>
    public static bool TryParse(string? value, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (IPNetwork.TryParse(value, out network))
        {
            return true;
        }

        if (!value.Contains('/', StringComparison.Ordinal) && IPAddress.TryParse(value, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return false;
    }

    private static IPNetwork Parse(string value) =>
        TryParse(value, out var network) ? network : throw new FormatException($"'{value}' is neither a CIDR block nor an IP address.");
}
