using System.Security.Claims;
using ContextMiddleware.AspNetCore.Internal.Options;
using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore;

/// <summary>
/// Options of <c>UseRequestContext()</c>, bound from the <c>"RequestContext"</c> configuration section and from the
/// delegate passed to <c>AddRequestContext</c>, and validated at startup.
/// </summary>
/// <remarks>
/// <para>
/// List options are empty by default and then mean their documented default, so that a list bound from
/// configuration replaces the default instead of adding to it.
/// </para>
/// <para>
/// The options are read once, when the app starts, except <see cref="TrustedNetworks"/>,
/// <see cref="PropagationAllowedHosts"/> and <see cref="RequestBaggageOptions.AllowedHosts"/>, which follow reloads of the configuration and fail closed: invalid entries
/// are logged as an Error and left out (a list left without a valid entry trusts no network, allows no host), and a
/// reload that empties <see cref="PropagationAllowedHosts"/> once the configuration has listed hosts allows no host
/// rather than every host. The others change what the app registered or how requests are shaped, so they need a restart.
/// </para>
/// </remarks>
public sealed class RequestContextOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "RequestContext";

    /// <summary>Gets or sets the request headers an incoming request id is read from, in order of preference.</summary>
    /// <value>Default: empty, meaning <c>X-Request-ID</c>. Add <c>X-Correlation-ID</c> to accept it too.</value>
    public IList<string> RequestIdHeaders { get; set; } = [];

    /// <summary>Gets or sets the response header that echoes the request id; null or empty for none.</summary>
    /// <value>Default: <c>X-Request-ID</c>.</value>
    public string? ResponseHeader { get; set; } = "X-Request-ID";

    /// <summary>Gets or sets the longest incoming request id accepted, in characters (1 to 1024).</summary>
    /// <value>Default: 128.</value>
    [Between(1, 1024, "RequestContext:MaxRequestIdLength")]
    public int MaxRequestIdLength { get; set; } = 128;

    /// <summary>Gets or sets whether incoming request ids are believed.</summary>
    /// <value>Default: <see cref="RequestContextTrust.Trust"/>.</value>
    public RequestContextTrust IncomingRequestIds { get; set; } = RequestContextTrust.Trust;

    /// <summary>
    /// Gets or sets whether incoming W3C trace headers (<c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>) are
    /// believed. An untrusted caller's trace headers are removed from the request and the request starts a new trace,
    /// so that it can neither choose the trace id nor switch sampling off.
    /// </summary>
    /// <value>Default: <see langword="null"/>, meaning the same as <see cref="IncomingRequestIds"/>.</value>
    public RequestContextTrust? IncomingTraceContext { get; set; }

    /// <summary>
    /// Gets or sets the networks whose connections are trusted under <see cref="RequestContextTrust.TrustedNetworks"/>:
    /// CIDR blocks such as <c>10.0.0.0/8</c> or single addresses such as <c>192.0.2.7</c>. Follows configuration
    /// reloads (an emptied list trusts no network).
    /// </summary>
    /// <value>Default: empty.</value>
    public IList<string> TrustedNetworks { get; set; } = [];

    /// <summary>
    /// Gets or sets a value indicating whether a request with an invalid request id from a trusted caller is
    /// rejected with 400 and ProblemDetails instead of getting a fresh id.
    /// </summary>
    /// <value>Default: <see langword="false"/> (replace the invalid id).</value>
    public bool RejectInvalidRequestIds { get; set; }

    /// <summary>
    /// Gets or sets the generator of fresh request ids. Its ids must pass the same validation as incoming ones.
    /// </summary>
    /// <value>
    /// Default: <see langword="null"/>, meaning 128 random bits as 32 lower-case hex characters: the request's trace id
    /// when the request starts a new trace (one id to search for, made for free), fresh random bits otherwise.
    /// </value>
    public Func<string>? RequestIdGenerator { get; set; }

    /// <summary>Gets or sets the claim types the user id is read from, in order of preference.</summary>
    /// <value>Default: empty, meaning <c>sub</c>, then <see cref="ClaimTypes.NameIdentifier"/>.</value>
    public IList<string> UserIdClaimTypes { get; set; } = [];

    /// <summary>Gets or sets the claim types the user name is read from, in order of preference.</summary>
    /// <value>Default: empty, meaning <c>name</c>, <see cref="ClaimTypes.Name"/>, then <c>preferred_username</c>.</value>
    public IList<string> UserNameClaimTypes { get; set; } = [];

    /// <summary>
    /// Gets or sets a value indicating whether ProblemDetails written through the app's
    /// <c>IProblemDetailsService</c> (<c>AddProblemDetails()</c>) carry the request id as the <c>requestId</c> extension.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool AddRequestIdToProblemDetails { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether an exception that nothing else in the pipeline handled is logged and
    /// answered by the outermost middleware: one Error record with the request's ids and user, and an empty 500 (like
    /// the server's) that carries the request id header; the server does not log it a second time. When off, the server
    /// answers and logs it as usual (no request-id response header); its record carries the request's ids when ASP.NET
    /// Core's hosting made the request's Activity (hosting's logging category on, or a listener), and none otherwise.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool LogUnhandledExceptions { get; set; } = true;

    /// <summary>
    /// Gets or sets a value indicating whether responses carry a <c>traceresponse</c> header (W3C Trace Context
    /// Level 2) naming the request's trace and span, so that a caller can find the server's side of its call.
    /// </summary>
    /// <value>Default: <see langword="false"/>.</value>
    public bool TraceResponse { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether Microsoft.Extensions.Logging events written while a request's context is
    /// current carry a request scope with RequestId, UserId and UserName (and TraceId and SpanId where the framework's
    /// own Activity scope would not write the same ids), so that plain <c>ILogger</c> output (JSON console with
    /// <c>IncludeScopes</c>, OpenTelemetry logs) shows them. Nothing is pushed per request: the scope is reported by
    /// the logger factory's scope provider.
    /// </summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool LoggingScope { get; set; } = true;

    /// <summary>Gets or sets the header outgoing HttpClient calls and messages carry the request id in.</summary>
    /// <value>Default: <c>X-Request-ID</c>.</value>
    public string OutgoingRequestIdHeader { get; set; } = "X-Request-ID";

    /// <summary>
    /// Gets or sets the message header the user's id travels in, when the app opts in by naming one (for example
    /// <c>x-user-id</c>): <see cref="IRequestContextPropagator.Inject{TCarrier}"/> writes the current user's
    /// <see cref="ICurrentUser.Id"/> (percent-encoded UTF-8) into messages and jobs, and
    /// <see cref="IRequestContextPropagator.Extract{TCarrier}"/> reads it, when the trust policy believes messages with it
    /// (<see cref="IncomingValue.UserId"/>), into a user that has the id as context and is not authenticated: a
    /// consumer can log and attribute the work, never authorize it. HTTP calls never carry it. Set it on both sides.
    /// </summary>
    /// <value>Default: <see langword="null"/>: the user id does not travel (it can be personal data).</value>
    public string? MessageUserIdHeader { get; set; }

    /// <summary>
    /// Gets or sets the hosts outgoing calls may carry the request id and trace headers to: exact names
    /// (<c>api.example.com</c>) or wildcards for subdomains (<c>*.internal.example.com</c>). Follows configuration
    /// reloads, which never widen it to every host. A request that a host in the list redirects to a host outside it
    /// loses the context on the way (with an Activity, as when a logging provider is on, and a
    /// <see cref="System.Net.Http.SocketsHttpHandler"/>).
    /// </summary>
    /// <value>Default: empty, meaning every host.</value>
    public IList<string> PropagationAllowedHosts { get; set; } = [];

    /// <summary>
    /// Gets or sets what the request's server span is tagged with: the request id (<c>request.id</c>) by default; the
    /// user id (<c>user.id</c>) and the request's properties only when the app opts in, because they can be personal
    /// data. Configuration: <c>"SpanTags": "RequestId, UserId, Properties"</c>.
    /// </summary>
    /// <value>Default: <see cref="RequestContextSpanTags.RequestId"/>.</value>
    public RequestContextSpanTags SpanTags { get; set; } = RequestContextSpanTags.RequestId;

    /// <summary>
    /// Gets the limits of <see cref="RequestContext.Properties"/>: how many properties a request may carry and how
    /// long a value may be (configuration: <c>RequestContext:Properties</c>).
    /// </summary>
    [ValidateObjectMembers]
    public RequestPropertiesOptions Properties { get; } = new();

    /// <summary>
    /// Gets the app's variables that travel between services as W3C Baggage, and the baggage rules (configuration:
    /// <c>RequestContext:Baggage</c> for <see cref="RequestBaggageOptions.Incoming"/>,
    /// <see cref="RequestBaggageOptions.PassThroughUnregistered"/> and <see cref="RequestBaggageOptions.AllowedHosts"/>;
    /// variables are registered in code, with <see cref="RequestBaggageOptions.Add(ContextVar{string}, string, Action{BaggageVariableOptions{string}})"/>).
    /// </summary>
    public RequestBaggageOptions Baggage { get; } = new();
}
