using Microsoft.AspNetCore.Http;

namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// Writes a request's id (and, when asked, its <c>traceresponse</c>) on its response, from an OnStarting callback whose
/// state is the <see cref="HttpContext"/>: the headers are set when the response starts, so a response the exception
/// handler cleared and re-executed still carries them, once. The values are the request's context's, current wherever
/// the response starts (the context begun by hosting flows into the server's own start of the response; where the
/// middleware began it, the middleware writes them itself if the response had not started when it returned).
/// </summary>
internal sealed class ResponseHeaderWriter(HttpSettings settings)
{
    private const string TraceResponse = "traceresponse";

    /// <summary>The OnStarting callback (one per app, so that registering it allocates nothing).</summary>
    public Func<object, Task> Callback => _callback ??= WriteAsync;

    private Func<object, Task>? _callback;

    private Task WriteAsync(object state)
    {
        Write((HttpContext)state);
        return Task.CompletedTask;
    }

    /// <summary>Writes the headers of the request whose context is current, if one is.</summary>
    public void Write(HttpContext context)
    {
        if (RequestContext.RequestId.Get() is not { } requestId)
        {
            return;
        }

        var headers = context.Response.Headers;

        // Set, not appended: a re-executed pipeline (exception handler, status code pages) never duplicates them.
        if (settings.ResponseHeader is { } header)
        {
            headers[header] = requestId;
        }

        if (settings.TraceResponse && RequestContext.Trace.Get() is { } trace)
        {
            headers[TraceResponse] = trace.ToString();
        }
    }
}
