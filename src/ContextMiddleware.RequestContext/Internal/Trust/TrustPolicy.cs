using System.Net;
using ContextMiddleware.AspNetCore.Internal.Options;

namespace ContextMiddleware.AspNetCore.Internal.Trust;

/// <summary>
/// The default <see cref="IRequestContextTrustPolicy"/>: <see cref="RequestContextOptions.IncomingRequestIds"/> for
/// request ids and the user ids of messages, <see cref="RequestContextOptions.IncomingTraceContext"/> (default: the same) for trace headers, and
/// the trusted networks in force.
/// </summary>
internal sealed class TrustPolicy(RequestContextSettings settings) : IRequestContextTrustPolicy
{
    public bool IsTrusted(IncomingValue value, IPAddress? remoteAddress) =>
        (value switch
        {
            IncomingValue.RequestId or IncomingValue.UserId => settings.IncomingRequestIds,
            IncomingValue.Baggage => settings.Baggage.Incoming,
            _ => settings.IncomingTraceContext,
        }) switch
        {
            RequestContextTrust.Trust => true,
            RequestContextTrust.TrustedNetworks => settings.Networks.Contains(remoteAddress),
            _ => false,
        };

    /// <summary>
    /// Asks <paramref name="policy"/>, failing closed: a policy that throws is answered "not trusted", and its exception
    /// is kept in <paramref name="failure"/> to be logged where the call's context is current (so the record carries
    /// the call's ids).
    /// </summary>
    public static bool Ask(IRequestContextTrustPolicy policy, IncomingValue value, IPAddress? remoteAddress, ref Exception? failure)
    {
        try
        {
            return policy.IsTrusted(value, remoteAddress);
        }
        catch (Exception exception)
        {
            failure ??= exception;
            return false;
        }
    }
}
