using System.Security.Claims;
using ContextMiddleware.AspNetCore.Internal.Baggage;
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
/// A reload runs what the options factory runs (configuration binding, every <c>Configure</c> and
/// <c>PostConfigure</c> delegate, the validators) rather than going through <c>IOptionsMonitor</c>, whose change
/// callback throws on a reload that does not validate. It fails closed: invalid entries are left out of the lists (and
/// logged once), so a reload can only narrow trust, never keep trusting a network the configuration no longer lists.
/// An empty <see cref="RequestContextOptions.TrustedNetworks"/> trusts no network; a
/// <see cref="RequestContextOptions.PropagationAllowedHosts"/> whose entries are all invalid allows no host, and so does
/// one that a reload empties once the configuration has listed hosts (an empty list allows every host only while the
/// configuration has never listed any).
/// </remarks>
internal sealed class RequestContextSettings : IDisposable
{
    public static readonly string[] DefaultRequestIdHeaders = ["X-Request-ID"];
    public static readonly string[] DefaultUserIdClaimTypes = ["sub", ClaimTypes.NameIdentifier];
    public static readonly string[] DefaultUserNameClaimTypes = ["name", ClaimTypes.Name, "preferred_username"];

    private readonly IConfigureOptions<RequestContextOptions>[] _setups = [];
    private readonly IPostConfigureOptions<RequestContextOptions>[] _postSetups = [];
    private readonly IValidateOptions<RequestContextOptions>[] _validators = [];
    private readonly ILogger? _logger;
    private readonly IDisposable? _reloads;
    private TrustedNetworks _networks;
    private DestinationPolicy _destinations;
    private DestinationPolicy _baggageDestinations;
    private string[] _lists;
    private string? _lastReloadFailure;

    // Whether the configuration has ever listed allowed hosts (at startup or in a readable reload): from then on an
    // empty list means a list that went missing, never "every host". An unreadable reload does not count.
    private bool _everHadAllowList;
    private bool _everHadBaggageAllowList;

    public RequestContextSettings(
        IOptions<RequestContextOptions> options,
        IEnumerable<IConfigureOptions<RequestContextOptions>> setups,
        IEnumerable<IPostConfigureOptions<RequestContextOptions>> postSetups,
        IEnumerable<IValidateOptions<RequestContextOptions>> validators,
        ILogger<RequestContextSettings> logger,
        IConfiguration? configuration = null)
        : this(options.Value)
    {
        _setups = [.. setups];
        _postSetups = [.. postSetups];
        _validators = [.. validators];
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
        MessageUserIdHeader = string.IsNullOrEmpty(options.MessageUserIdHeader) ? null : options.MessageUserIdHeader;
        MaxProperties = options.Properties.MaxCount;
        MaxPropertyLength = options.Properties.MaxValueLength;
        _networks = TrustedNetworks.FromValid(options.TrustedNetworks);
        _destinations = DestinationPolicy.FromValid(options.PropagationAllowedHosts);
        _baggageDestinations = DestinationPolicy.FromValid(options.Baggage.AllowedHosts);
        _everHadAllowList = options.PropagationAllowedHosts.Count != 0;
        _everHadBaggageAllowList = options.Baggage.AllowedHosts.Count != 0;
        Baggage = new BaggageSettings(options.Baggage, IncomingTraceContext);
        _lists = ListsOf(options);
    }

    public string[] RequestIdHeaders { get; }

    /// <summary>How many request properties one request may carry.</summary>
    public int MaxProperties { get; } = 32;

    /// <summary>The longest request property value, in characters.</summary>
    public int MaxPropertyLength { get; } = 1024;

    /// <summary>The logger of the settings' own records, for the records of request properties too.</summary>
    public ILogger? Logger => _logger;

    public int MaxRequestIdLength { get; }

    public RequestContextTrust IncomingRequestIds { get; }

    public RequestContextTrust IncomingTraceContext { get; }

    public bool RejectInvalidRequestIds { get; }

    /// <summary>The app's generator of fresh request ids, or <see langword="null"/> for the default.</summary>
    public Func<string>? Generator { get; }

    public string[] UserIdClaimTypes { get; }

    public string[] UserNameClaimTypes { get; }

    public string OutgoingRequestIdHeader { get; }

    /// <summary>The header messages carry the user id in; <see langword="null"/> when the app did not opt in.</summary>
    public string? MessageUserIdHeader { get; }

    /// <summary>The trusted networks in force (replaced on reload).</summary>
    public TrustedNetworks Networks => Volatile.Read(ref _networks);

    /// <summary>The propagation allow-list in force (replaced on reload).</summary>
    public DestinationPolicy Destinations => Volatile.Read(ref _destinations);

    /// <summary>The baggage allow-list in force, within <see cref="Destinations"/> (replaced on reload).</summary>
    public DestinationPolicy BaggageDestinations => Volatile.Read(ref _baggageDestinations);

    /// <summary>The registered baggage variables and the baggage rules.</summary>
    public BaggageSettings Baggage { get; }

    public void Dispose() => _reloads?.Dispose();

    // A configuration reload may be signalled more than once (by each provider, then by the root): what did not change
    // is neither applied nor logged again.
    private void Reload()
    {
        var name = Microsoft.Extensions.Options.Options.DefaultName;
        var options = new RequestContextOptions();
        List<string> failures = [];
        var unreadable = false;
        try
        {
            foreach (var setup in _setups)
            {
                if (setup is IConfigureNamedOptions<RequestContextOptions> named)
                {
                    named.Configure(name, options);
                }
                else
                {
                    setup.Configure(options);
                }
            }

            foreach (var postSetup in _postSetups)
            {
                postSetup.PostConfigure(name, options);
            }

            foreach (var validator in _validators)
            {
                if (validator.Validate(name, options) is { Failed: true } result)
                {
                    failures.AddRange(result.Failures);
                }
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // The configuration could not be read at all: nothing is known, so nothing is trusted or allowed any more.
            failures.Add($"{exception.GetType().Name}: {exception.Message} No network is trusted and no host allowed until a reload succeeds.");
            unreadable = true;
        }

        var failure = failures.Count == 0 ? null : string.Join(" ", failures);
        if (failure is not null && !string.Equals(Interlocked.Exchange(ref _lastReloadFailure, failure), failure, StringComparison.Ordinal))
        {
            Log.InvalidReload(_logger!, failure);
        }
        else if (failure is null)
        {
            Volatile.Write(ref _lastReloadFailure, null);
        }

        string[] lists = unreadable ? ["unreadable"] : ListsOf(options);
        if (lists.SequenceEqual(Volatile.Read(ref _lists)))
        {
            return;
        }

        var networks = unreadable ? TrustedNetworks.FromValid([]) : TrustedNetworks.FromValid(options.TrustedNetworks);
        var destinations = unreadable ? DestinationPolicy.None : DestinationPolicy.FromValid(options.PropagationAllowedHosts);
        var baggageDestinations = unreadable ? DestinationPolicy.None : DestinationPolicy.FromValid(options.Baggage.AllowedHosts);
        if (!unreadable && options.Baggage.AllowedHosts.Count != 0)
        {
            _everHadBaggageAllowList = true;
        }

        if (baggageDestinations.AllowsEveryHost && _everHadBaggageAllowList)
        {
            baggageDestinations = DestinationPolicy.None;
            Log.AllowListEmptiedOnReload(_logger!, "Baggage:AllowedHosts");
        }

        if (!unreadable && options.PropagationAllowedHosts.Count != 0)
        {
            _everHadAllowList = true;
        }

        if (destinations.AllowsEveryHost && _everHadAllowList)
        {
            // A list that disappears (a configuration file replaced, a section removed) must not open every host.
            destinations = DestinationPolicy.None;
            Log.AllowListEmptiedOnReload(_logger!, "PropagationAllowedHosts");
        }

        Volatile.Write(ref _networks, networks);
        Volatile.Write(ref _destinations, destinations);
        Volatile.Write(ref _baggageDestinations, baggageDestinations);
        Volatile.Write(ref _lists, lists);
        Log.Reloaded(_logger!, networks.Count, destinations.Describe());
    }

    /// <summary>The reloadable lists, as one sequence to compare.</summary>
    private static string[] ListsOf(RequestContextOptions options) =>
        [.. options.TrustedNetworks, "|", .. options.PropagationAllowedHosts, "|", .. options.Baggage.AllowedHosts];
}
