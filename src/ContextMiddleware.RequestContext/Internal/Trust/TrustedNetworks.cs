using System.Net;
using System.Net.Sockets;

namespace ContextMiddleware.AspNetCore.Internal.Trust;

/// <summary>The parsed <see cref="RequestContextOptions.TrustedNetworks"/>: CIDR blocks and single addresses.</summary>
internal sealed class TrustedNetworks
{
    private readonly IPNetwork[] _networks;

    private TrustedNetworks(IPNetwork[] networks) => _networks = networks;

    /// <summary>How many networks are trusted.</summary>
    public int Count => _networks.Length;

    /// <summary>The valid entries of <paramref name="values"/> (the validator reports the others); none trusts no one.</summary>
    public static TrustedNetworks FromValid(IEnumerable<string> values)
    {
        List<IPNetwork> networks = [];
        foreach (var value in values)
        {
            if (TryParse(value, out var network))
            {
                networks.Add(network);
            }
        }

        return new TrustedNetworks([.. networks]);
    }

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
}
