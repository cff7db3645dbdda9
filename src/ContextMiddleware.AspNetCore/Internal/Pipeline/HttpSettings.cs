using Microsoft.Extensions.Options;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>The options only HTTP requests have, resolved once.</summary>
internal sealed class HttpSettings(IOptions<RequestContextOptions> options)
{
    private readonly RequestContextOptions _options = options.Value;

    /// <summary>The response header that echoes the request id, or <see langword="null"/>.</summary>
    public string? ResponseHeader { get; } = string.IsNullOrEmpty(options.Value.ResponseHeader) ? null : options.Value.ResponseHeader;

    public bool TraceResponse => _options.TraceResponse;

    public bool HandleUnhandledExceptions => _options.LogUnhandledExceptions;

    public bool AddRequestIdToProblemDetails => _options.AddRequestIdToProblemDetails;

    /// <summary>What the request's span is tagged with.</summary>
    public RequestContextSpanTags SpanTags { get; } = options.Value.SpanTags;

    /// <summary>Whether responses get headers from the request's context.</summary>
    public bool WritesResponseHeaders => ResponseHeader is not null || TraceResponse;
}
