using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>What the options need of the ASP.NET Core app, checked at startup with a message that names the fix.</summary>
/// <param name="services">Tells whether the services a setting needs are registered; null outside a container.</param>
internal sealed class HostingOptionsValidator(IServiceProviderIsService? services = null) : IValidateOptions<RequestContextOptions>
{
    public ValidateOptionsResult Validate(string? name, RequestContextOptions options)
    {
        var traceTrust = options.IncomingTraceContext ?? options.IncomingRequestIds;
        var setting = traceTrust == RequestContextTrust.TrustedNetworks ? "IncomingTraceContext"
            : (options.Baggage.Incoming ?? traceTrust) == RequestContextTrust.TrustedNetworks ? "Baggage:Incoming"
            : null;
        if (setting is not null && services?.IsService(typeof(IHttpContextAccessor)) == false)
        {
            return ValidateOptionsResult.Fail(
                $"{RequestContextOptions.SectionName}:{setting} is TrustedNetworks (set after AddRequestContext() ran, so it could not prepare for it): " +
                "trace headers and baggage are read before any middleware runs, and the caller's address is then found through IHttpContextAccessor. " +
                "Call builder.Services.AddHttpContextAccessor().");
        }

        return ValidateOptionsResult.Success;
    }
}
