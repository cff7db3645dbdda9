using Microsoft.AspNetCore.Http;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// Writes a request's id (and, when asked, its <c>traceresponse</c>) on its response, from an OnStarting callback whose
/// state is the <see cref="HttpContext"/>: the headers are set when the response starts, so a response the exception
/// handler cleared and re-executed still carries them, once. The values are the request's <see cref="HttpCall"/>'s.
/// </summary>
internal sealed class ResponseHeaderWriter(HttpSettings settings)
{
    private const string TraceResponse = "traceresponse";

    /// <summary>The OnStarting callback (one per app, so that registering it allocates nothing).</summary>
    public Func<object, Task> Callback => _callback ??= Write;

    private Func<object, Task>? _callback;

    private Task Write(object state)
    {
        var context = (HttpContext)state;
        if (context.Features.Get<HttpCall>() is not { } call)
        {
            return Task.CompletedTask;
        }

        var headers = context.Response.Headers;

        // Set, not appended: a re-executed pipeline (exception handler, status code pages) never duplicates them.
        if (settings.ResponseHeader is { } header)
        {
            headers[header] = call.RequestId;
        }

        if (settings.TraceResponse && call.Trace is { } trace)
        {
            headers[TraceResponse] = trace.ToString();
        }

        return Task.CompletedTask;
    }
}
