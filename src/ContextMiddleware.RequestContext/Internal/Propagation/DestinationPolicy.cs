namespace ContextMiddleware.AspNetCore.Internal.Propagation;

/// <summary>
/// The parsed <see cref="RequestContextOptions.PropagationAllowedHosts"/>: which destinations outgoing calls may
/// carry the context to. Empty means every host.
/// </summary>
internal sealed class DestinationPolicy
{
    private readonly string[] _exactHosts;
    private readonly string[] _hostSuffixes;

    public DestinationPolicy(IEnumerable<string> hosts)
    {
        var list = hosts.ToArray();
        _exactHosts = [.. list.Where(host => !host.StartsWith("*.", StringComparison.Ordinal))];
        _hostSuffixes = [.. list.Where(host => host.StartsWith("*.", StringComparison.Ordinal)).Select(host => host[1..])];
    }

    /// <summary>Whether outgoing calls to <paramref name="uri"/> may carry the context.</summary>
    public bool IsAllowed(Uri? uri)
    {
        if (_exactHosts.Length == 0 && _hostSuffixes.Length == 0)
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
