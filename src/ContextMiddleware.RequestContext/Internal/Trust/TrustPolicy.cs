using System.Net;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore.Internal.Trust;

/// <summary>
/// The default <see cref="IRequestContextTrustPolicy"/>: <see cref="RequestContextOptions.IncomingRequestIds"/> for
/// request ids, <see cref="RequestContextOptions.IncomingTraceContext"/> (default: the same) for trace headers, and
/// the trusted networks in force.
/// </summary>
internal sealed class TrustPolicy(RequestContextSettings settings) : IRequestContextTrustPolicy
{
    public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
        (value == IncomingValue.RequestId ? settings.IncomingRequestIds : settings.IncomingTraceContext) switch
        {
            RequestContextTrust.Trust => true,
            RequestContextTrust.TrustedNetworks => settings.Networks.Contains(remoteAddress),
            _ => false,
        };

    /// <summary>Whether the policy can tell only by the caller's address (so hosting must find the connection).</summary>
    public static bool NeedsAddress(RequestContextSettings settings, IncomingValue value) =>
        (value == IncomingValue.RequestId ? settings.IncomingRequestIds : settings.IncomingTraceContext) == RequestContextTrust.TrustedNetworks;
}
