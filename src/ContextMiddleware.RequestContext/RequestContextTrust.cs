namespace ContextMiddleware.AspNetCore;

/// <summary>Whether values that a caller sends are believed.</summary>
public enum RequestContextTrust
{
    /// <summary>Accept a valid incoming value from any caller. For services that only trusted callers reach.</summary>
    Trust,

    /// <summary>Never accept an incoming value: always generate. For services open to the internet.</summary>
    Ignore,

    /// <summary>
    /// Accept a valid incoming value only when the connection comes from one of
    /// <see cref="RequestContextOptions.TrustedNetworks"/> (your proxies, gateways or cluster network). Messages have
    /// no connection, so their values are not believed under this setting.
    /// </summary>
    TrustedNetworks,
}
