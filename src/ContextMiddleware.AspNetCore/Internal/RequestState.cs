using Microsoft.AspNetCore.Http;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>What the middleware keeps for one request: one allocation that also serves as callback state.</summary>
internal sealed class RequestState(HttpContext context, RequestContextSettings settings)
{
    public static readonly Func<object, Task> EchoRequestId = static state =>
    {
        var request = (RequestState)state;

        // Set, not appended: a re-executed pipeline (exception handler, status code pages) never duplicates it.
        request.Context.Response.Headers[request.Settings.ResponseHeader!] = request.RequestId;
        return Task.CompletedTask;
    };

    public HttpContext Context { get; } = context;

    public RequestContextSettings Settings { get; } = settings;

    public string RequestId { get; set; } = string.Empty;

    public string? ClientRequestId { get; set; }

    public RequestUser User { get; } = new(context, settings);
}
