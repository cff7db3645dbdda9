using System.Diagnostics;
using System.Net;
using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>The validated options, resolved once into the forms the hot path needs.</summary>
internal sealed class RequestContextSettings
{
    public static readonly string[] DefaultRequestIdHeaders = ["X-Request-ID"];
    public static readonly string[] DefaultUserIdClaimTypes = ["sub", ClaimTypes.NameIdentifier];
    public static readonly string[] DefaultUserNameClaimTypes = ["name", ClaimTypes.Name, "preferred_username"];

    private readonly Func<string>? _customGenerator;
    private readonly IPNetwork[] _trustedNetworks;
    private readonly string[] _exactHosts;
    private readonly string[] _hostSuffixes;

    public RequestContextSettings(IOptions<RequestContextOptions> options)
        : this(options.Value)
    {
    }

    public RequestContextSettings(RequestContextOptions options)
    {
        RequestIdHeaders = options.RequestIdHeaders.Count == 0 ? DefaultRequestIdHeaders : [.. options.RequestIdHeaders];
        ResponseHeader = string.IsNullOrEmpty(options.ResponseHeader) ? null : options.ResponseHeader;
        MaxRequestIdLength = options.MaxRequestIdLength;
        IncomingRequestIds = options.IncomingRequestIds;
        IncomingTraceContext = options.IncomingTraceContext ?? options.IncomingRequestIds;
        TraceResponse = options.TraceResponse;
        LoggingScope = options.LoggingScope;
        _trustedNetworks = [.. options.TrustedNetworks.Select(ParseNetwork)];
        RejectInvalidRequestIds = options.RejectInvalidRequestIds;
        _customGenerator = options.RequestIdGenerator;
        UserIdClaimTypes = options.UserIdClaimTypes.Count == 0 ? DefaultUserIdClaimTypes : [.. options.UserIdClaimTypes];
        UserNameClaimTypes = options.UserNameClaimTypes.Count == 0 ? DefaultUserNameClaimTypes : [.. options.UserNameClaimTypes];
        AddRequestIdToProblemDetails = options.AddRequestIdToProblemDetails;
        LogUnhandledExceptions = options.LogUnhandledExceptions;
        OutgoingRequestIdHeader = options.OutgoingRequestIdHeader;
        _exactHosts = [.. options.PropagationAllowedHosts.Where(host => !host.StartsWith("*.", StringComparison.Ordinal))];
        _hostSuffixes = [.. options.PropagationAllowedHosts.Where(host => host.StartsWith("*.", StringComparison.Ordinal)).Select(host => host[1..])];
    }

    public string[] RequestIdHeaders { get; }

    public bool HasCustomGenerator => _customGenerator is not null;

    public string? ResponseHeader { get; }

    public int MaxRequestIdLength { get; }

    public RequestContextTrust IncomingRequestIds { get; }

    public RequestContextTrust IncomingTraceContext { get; }

    public bool TraceResponse { get; }

    public bool LoggingScope { get; }

    public bool RejectInvalidRequestIds { get; }

    public string[] UserIdClaimTypes { get; }

    public string[] UserNameClaimTypes { get; }

    public bool AddRequestIdToProblemDetails { get; }

    public bool LogUnhandledExceptions { get; }

    public string OutgoingRequestIdHeader { get; }

    /// <summary>Whether values from a caller at <paramref name="remoteAddress"/> are believed.</summary>
    public bool IsTrusted(RequestContextTrust trust, IPAddress? remoteAddress)
    {
        switch (trust)
        {
            case RequestContextTrust.Trust:
                return true;
            case RequestContextTrust.Ignore:
                return false;
            default:
                if (remoteAddress is null)
                {
                    return false;
                }

                if (remoteAddress.IsIPv4MappedToIPv6)
                {
                    remoteAddress = remoteAddress.MapToIPv4();
                }

                foreach (var network in _trustedNetworks)
                {
                    if (network.Contains(remoteAddress))
                    {
                        return true;
                    }
                }

                return false;
        }
    }

    /// <summary>Whether outgoing calls to <paramref name="uri"/> may carry the context.</summary>
    public bool IsPropagationAllowed(Uri? uri)
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

    /// <summary>A fresh request id, and why the configured generator's id was not used, if it was not.</summary>
    public string GenerateRequestId(out RequestIdProblem generatorProblem)
    {
        generatorProblem = RequestIdProblem.None;
        if (_customGenerator is not null)
        {
            var id = _customGenerator();
            generatorProblem = id is null ? RequestIdProblem.Empty : RequestIdValidator.Validate(id, MaxRequestIdLength);
            if (generatorProblem == RequestIdProblem.None)
            {
                return id!;
            }
        }

        return NewRandomId();
    }

    /// <summary>128 random bits as 32 lower-case hex characters.</summary>
    public static string NewRandomId() => ActivityTraceId.CreateRandom().ToHexString();

    /// <summary>Parses a CIDR block or a single address; the validator has checked the syntax.</summary>
    public static IPNetwork ParseNetwork(string value)
    {
        if (IPNetwork.TryParse(value, out var network))
        {
            return network;
        }

        var address = IPAddress.Parse(value);
        return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    public static bool TryParseNetwork(string? value, out IPNetwork network)
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

        if (IPAddress.TryParse(value, out _) && !value.Contains('/', StringComparison.Ordinal))
        {
            network = ParseNetwork(value);
            return true;
        }

        return false;
    }
}
