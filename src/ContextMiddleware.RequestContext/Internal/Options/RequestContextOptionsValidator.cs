using ContextMiddleware.AspNetCore.Internal.Baggage;
using ContextMiddleware.AspNetCore.Internal.Propagation;
using ContextMiddleware.AspNetCore.Internal.Trust;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// Validates <see cref="RequestContextOptions"/> at startup and on every reload, with messages that name the setting:
/// the rules that span settings or parse text (trust that needs networks, header names, CIDR blocks, hosts, baggage);
/// the single-setting ranges are <see cref="RequestContextOptionsRangeValidator"/>'s (generated code).
/// </summary>
internal sealed class RequestContextOptionsValidator : IValidateOptions<RequestContextOptions>
{
    public ValidateOptionsResult Validate(string? name, RequestContextOptions options)
    {
        var failures = new List<string>();
        var prefix = RequestContextOptions.SectionName;

        if (options.RequestIdHeaders is null || options.TrustedNetworks is null || options.UserIdClaimTypes is null ||
            options.UserNameClaimTypes is null || options.PropagationAllowedHosts is null)
        {
            return ValidateOptionsResult.Fail($"{prefix}: list options must not be null (use an empty list for the default).");
        }

        foreach (var header in options.RequestIdHeaders)
        {
            CheckHeaderName(header, $"{prefix}:RequestIdHeaders", failures);
        }

        if (!string.IsNullOrEmpty(options.ResponseHeader))
        {
            CheckHeaderName(options.ResponseHeader, $"{prefix}:ResponseHeader", failures);
        }

        CheckHeaderName(options.OutgoingRequestIdHeader, $"{prefix}:OutgoingRequestIdHeader", failures);
        if (!string.IsNullOrEmpty(options.MessageUserIdHeader))
        {
            CheckHeaderName(options.MessageUserIdHeader, $"{prefix}:MessageUserIdHeader", failures);
            if (options.RequestIdHeaders.Append(options.OutgoingRequestIdHeader).Concat(["traceparent", "tracestate", "baggage"])
                .Contains(options.MessageUserIdHeader, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"{prefix}:MessageUserIdHeader must not be a request id or trace header; it is '{options.MessageUserIdHeader}'.");
            }
        }

        if (!Enum.IsDefined(options.IncomingRequestIds))
        {
            failures.Add($"{prefix}:IncomingRequestIds must be Trust, Ignore or TrustedNetworks.");
        }

        if (options.IncomingTraceContext is { } traceTrust && !Enum.IsDefined(traceTrust))
        {
            failures.Add($"{prefix}:IncomingTraceContext must be Trust, Ignore or TrustedNetworks (or unset to follow IncomingRequestIds).");
        }

        foreach (var network in options.TrustedNetworks)
        {
            if (!TrustedNetworks.TryParse(network, out _))
            {
                failures.Add($"{prefix}:TrustedNetworks has '{network}', which is neither a CIDR block (10.0.0.0/8) nor an IP address.");
            }
        }

        var needsNetworks = options.IncomingRequestIds == RequestContextTrust.TrustedNetworks ? "IncomingRequestIds"
            : options.IncomingTraceContext == RequestContextTrust.TrustedNetworks ? "IncomingTraceContext"
            : options.Baggage.Incoming == RequestContextTrust.TrustedNetworks ? "Baggage:Incoming"
            : null;
        if (needsNetworks is not null && options.TrustedNetworks.Count == 0)
        {
            failures.Add($"{prefix}:{needsNetworks} is TrustedNetworks, but {prefix}:TrustedNetworks is empty: list the networks of your proxies or callers.");
        }

        foreach (var claimType in options.UserIdClaimTypes.Concat(options.UserNameClaimTypes))
        {
            if (string.IsNullOrWhiteSpace(claimType))
            {
                failures.Add($"{prefix}:UserIdClaimTypes and UserNameClaimTypes must not contain empty claim types.");
                break;
            }
        }

        foreach (var host in options.PropagationAllowedHosts)
        {
            if (!DestinationPolicy.IsValid(host))
            {
                failures.Add($"{prefix}:PropagationAllowedHosts has '{host}', which is neither a host name nor '*.' and a domain.");
            }
        }

        ValidateBaggage(options.Baggage, $"{prefix}:Baggage", failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateBaggage(RequestBaggageOptions baggage, string prefix, List<string> failures)
    {
        if (baggage.AllowedHosts is null)
        {
            failures.Add($"{prefix}:AllowedHosts must not be null (use an empty list for the default).");
            return;
        }

        if (baggage.Incoming is { } trust && !Enum.IsDefined(trust))
        {
            failures.Add($"{prefix}:Incoming must be Trust, Ignore or TrustedNetworks (or unset to follow IncomingTraceContext).");
        }

        foreach (var host in baggage.AllowedHosts)
        {
            if (!DestinationPolicy.IsValid(host))
            {
                failures.Add($"{prefix}:AllowedHosts has '{host}', which is neither a host name nor '*.' and a domain.");
            }
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        var variables = new HashSet<ContextVar>();
        var logNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var variable in baggage.Variables)
        {
            var shown = W3CBaggage.Shown(variable.Key);
            if (variable.Problem is { } problem)
            {
                failures.Add($"{prefix}: the variable '{variable.Variable.Name}' registered under the key '{shown}' is invalid: {problem}.");
            }

            if (!keys.Add(variable.Key))
            {
                failures.Add($"{prefix}: the key '{shown}' is registered twice; each key names one variable.");
            }

            if (!variables.Add(variable.Variable))
            {
                failures.Add($"{prefix}: the variable '{variable.Variable.Name}' is registered twice; each variable travels under one key.");
            }

            if (variable.LogPropertyName is { } logName && !string.IsNullOrWhiteSpace(logName) && !logNames.Add(logName))
            {
                failures.Add($"{prefix}: the log property name '{logName}' is given to two variables.");
            }
        }
    }

    private static void CheckHeaderName(string? header, string setting, List<string> failures)
    {
        if (!W3CBaggage.IsToken(header))
        {
            failures.Add($"{setting} has '{header}', which is not a valid HTTP header name.");
        }
    }
}
