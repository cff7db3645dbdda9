namespace ContextMiddleware.Serilog;

/// <summary>
/// Options of <c>Enrich.WithRequestContext()</c>: the name of each property (null or empty leaves it out) and the
/// value written outside a request.
/// </summary>
public sealed class RequestContextEnricherOptions
{
    /// <summary>Gets or sets the property that carries the request id.</summary>
    /// <value>Default: <c>RequestId</c>.</value>
    public string? RequestIdPropertyName { get; set; } = "RequestId";

    /// <summary>Gets or sets the property that carries the trace id (32 lower-case hex characters).</summary>
    /// <value>Default: <c>TraceId</c>.</value>
    public string? TraceIdPropertyName { get; set; } = "TraceId";

    /// <summary>Gets or sets the property that carries the span id of the request (16 lower-case hex characters).</summary>
    /// <value>Default: <c>SpanId</c>.</value>
    public string? SpanIdPropertyName { get; set; } = "SpanId";

    /// <summary>Gets or sets the property that carries the authenticated user's id; absent for anonymous requests.</summary>
    /// <value>Default: <c>UserId</c>.</value>
    public string? UserIdPropertyName { get; set; } = "UserId";

    /// <summary>Gets or sets the property that carries the authenticated user's name; absent for anonymous requests.</summary>
    /// <value>Default: <c>UserName</c>.</value>
    public string? UserNamePropertyName { get; set; } = "UserName";

    /// <summary>
    /// Gets or sets the value the request id, trace id and span id properties take on events written outside any
    /// request (startup, timers), like the <c>"no-trace"</c> default of a Python logging filter; null leaves the
    /// properties out.
    /// </summary>
    /// <value>Default: <see langword="null"/>.</value>
    public string? OutsideRequestValue { get; set; }
}
