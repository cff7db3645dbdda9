namespace ContextMiddleware.AspNetCore.Internal.Propagation;

/// <summary>
/// The parsed <see cref="RequestContextOptions.PropagationAllowedHosts"/>: which destinations outgoing calls may
/// carry the context to. An empty list means every host.
/// </summary>
internal sealed class DestinationPolicy
{
    /// <summary>No host at all: what a reload leaves when it cannot read the configuration.</summary>
    public static readonly DestinationPolicy None = new([], [], allowAll: false);

    private readonly string[] _exactHosts;
    private readonly string[] _hostSuffixes;
    private readonly bool _allowAll;

    private DestinationPolicy(string[] exactHosts, string[] hostSuffixes, bool allowAll)
    {
        _exactHosts = exactHosts;
        _hostSuffixes = hostSuffixes;
        _allowAll = allowAll;
    }

    /// <summary>Whether every host is allowed (an empty list, as configured).</summary>
    public bool AllowsEveryHost => _allowAll;

    /// <summary>What is allowed, for a log record: "every host", "no host" or the count.</summary>
    public string Describe() =>
        _allowAll ? "every host" : _exactHosts.Length + _hostSuffixes.Length is var count && count == 0 ? "no host" : $"{count} host(s) or domain(s)";

    /// <summary>
    /// The valid entries of <paramref name="hosts"/> (the validator reports the others). An empty list allows every
    /// host; a list with no valid entry allows none.
    /// </summary>
    public static DestinationPolicy FromValid(IEnumerable<string> hosts)
    {
        var list = hosts.ToArray();
        var valid = list.Where(IsValid).ToArray();
        return new DestinationPolicy(
            [.. valid.Where(host => !host.StartsWith("*.", StringComparison.Ordinal))],
            [.. valid.Where(host => host.StartsWith("*.", StringComparison.Ordinal)).Select(host => host[1..])],
            allowAll: list.Length == 0);
    }

    /// <summary>Whether <paramref name="host"/> is a host name, or <c>*.</c> and a domain.</summary>
    public static bool IsValid(string? host)
    {
        var hostName = host?.StartsWith("*.", StringComparison.Ordinal) == true ? host[2..] : host;
        return !string.IsNullOrWhiteSpace(hostName) && Uri.CheckHostName(hostName) != UriHostNameType.Unknown;
    }

    /// <summary>Whether outgoing calls to <paramref name="uri"/> may carry the context.</summary>
    public bool IsAllowed(Uri? uri)
    {
        if (_allowAll)
        {
            return true;
        }

        if (uri is null || !uri.IsAbsoluteUri)
        {
            return false;
        }

        var host = uri.IdnHost;
        foreach (var exact in _exactHosts)
        {
            if (string.Equals(host, exact, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var suffix in _hostSuffixes)
        {
            if (host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
