using System.Security.Claims;
using ContextMiddleware.AspNetCore.Internal.Logging;
using ContextMiddleware.AspNetCore.Internal.Propagation;
using ContextMiddleware.AspNetCore.Internal.Trust;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Options;

/// <summary>
/// The one home of the options: validated at startup, resolved once into the forms the hot path needs, and, for the
/// two lists that may change safely (<see cref="RequestContextOptions.TrustedNetworks"/> and
/// <see cref="RequestContextOptions.PropagationAllowedHosts"/>), replaced when the configuration reloads.
/// </summary>
/// <remarks>
/// Reloads go through the options factory (configuration binding, every <c>Configure</c> delegate, validation) rather
/// than <c>IOptionsMonitor</c>, whose change callback throws on a reload that does not validate: here such a reload is
/// logged and the lists in force are kept.
/// </remarks>
internal sealed class RequestContextSettings : IDisposable
{
    public static readonly string[] DefaultRequestIdHeaders = ["X-Request-ID"];
    public static readonly string[] DefaultUserIdClaimTypes = ["sub", ClaimTypes.NameIdentifier];
    public static readonly string[] DefaultUserNameClaimTypes = ["name", ClaimTypes.Name, "preferred_username"];

    private readonly IOptionsFactory<RequestContextOptions>? _factory;
    private readonly ILogger? _logger;
    private readonly IDisposable? _reloads;
    private TrustedNetworks _networks;
    private DestinationPolicy _destinations;
    private string[] _lists;
    private string? _lastReloadFailure;

    public RequestContextSettings(
        IOptions<RequestContextOptions> options,
        IOptionsFactory<RequestContextOptions> factory,
        ILogger<RequestContextSettings> logger,
        IConfiguration? configuration = null)
        : this(options.Value)
    {
        _factory = factory;
        _logger = logger;
        if (configuration is not null)
        {
            _reloads = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
        }
    }

    /// <summary>Settings that never reload (tests, benchmarks).</summary>
    public RequestContextSettings(RequestContextOptions options)
    {
        RequestIdHeaders = options.RequestIdHeaders.Count == 0 ? DefaultRequestIdHeaders : [.. options.RequestIdHeaders];
        MaxRequestIdLength = options.MaxRequestIdLength;
        IncomingRequestIds = options.IncomingRequestIds;
        IncomingTraceContext = options.IncomingTraceContext ?? options.IncomingRequestIds;
        RejectInvalidRequestIds = options.RejectInvalidRequestIds;
        Generator = options.RequestIdGenerator;
        UserIdClaimTypes = options.UserIdClaimTypes.Count == 0 ? DefaultUserIdClaimTypes : [.. options.UserIdClaimTypes];
        UserNameClaimTypes = options.UserNameClaimTypes.Count == 0 ? DefaultUserNameClaimTypes : [.. options.UserNameClaimTypes];
        OutgoingRequestIdHeader = options.OutgoingRequestIdHeader;
        _networks = new TrustedNetworks(options.TrustedNetworks);
        _destinations = new DestinationPolicy(options.PropagationAllowedHosts);
        _lists = ListsOf(options);
    }

    public string[] RequestIdHeaders { get; }

    public int MaxRequestIdLength { get; }

    public RequestContextTrust IncomingRequestIds { get; }

    public RequestContextTrust IncomingTraceContext { get; }

    public bool RejectInvalidRequestIds { get; }

    /// <summary>The app's generator of fresh request ids, or <see langword="null"/> for the default.</summary>
    public Func<string>? Generator { get; }

    public string[] UserIdClaimTypes { get; }

    public string[] UserNameClaimTypes { get; }

    public string OutgoingRequestIdHeader { get; }

    /// <summary>The trusted networks in force (replaced on reload).</summary>
    public TrustedNetworks Networks => Volatile.Read(ref _networks);

    /// <summary>The propagation allow-list in force (replaced on reload).</summary>
    public DestinationPolicy Destinations => Volatile.Read(ref _destinations);

    public void Dispose() => _reloads?.Dispose();

    // A configuration reload may be signalled more than once (by each provider, then by the root): what did not change
    // is neither applied nor logged again.
    private void Reload()
    {
        RequestContextOptions options;
        try
        {
            options = _factory!.Create(Microsoft.Extensions.Options.Options.DefaultName);
        }
        catch (OptionsValidationException exception)
        {
            var failure = string.Join(" ", exception.Failures);
            if (!string.Equals(Interlocked.Exchange(ref _lastReloadFailure, failure), failure, StringComparison.Ordinal))
            {
                Log.InvalidReload(_logger!, failure);
            }

            return;
        }

        Volatile.Write(ref _lastReloadFailure, null);
        var lists = ListsOf(options);
        if (lists.SequenceEqual(Volatile.Read(ref _lists)))
        {
            return;
        }

        Volatile.Write(ref _networks, new TrustedNetworks(options.TrustedNetworks));
        Volatile.Write(ref _destinations, new DestinationPolicy(options.PropagationAllowedHosts));
        Volatile.Write(ref _lists, lists);
        Log.Reloaded(_logger!, options.TrustedNetworks.Count, options.PropagationAllowedHosts.Count);
    }

    /// <summary>The reloadable lists, as one sequence to compare.</summary>
    private static string[] ListsOf(RequestContextOptions options) =>
        [.. options.TrustedNetworks, "|", .. options.PropagationAllowedHosts];
}
