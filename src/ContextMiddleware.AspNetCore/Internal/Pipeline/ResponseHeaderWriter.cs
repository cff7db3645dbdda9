namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>
/// Writes a request's id (and, when asked, its <c>traceresponse</c>) on its response, from an OnStarting callback:
/// the headers are set when the response starts, so a response the exception handler cleared and re-executed still
/// carries them, once.
/// </summary>
internal sealed class ResponseHeaderWriter(HttpSettings settings, Microsoft.AspNetCore.Http.HttpResponse response, string requestId, TraceContext trace)
{
    private const string TraceResponse = "traceresponse";

    /// <summary>The OnStarting callback; its state is a writer.</summary>
    public static readonly Func<object, Task> Callback = static state =>
    {
        ((ResponseHeaderWriter)state).Write();
        return Task.CompletedTask;
    };

    private void Write()
    {
        var headers = response.Headers;

        // Set, not appended: a re-executed pipeline (exception handler, status code pages) never duplicates them.
        if (settings.ResponseHeader is { } header)
        {
            headers[header] = requestId;
        }

        if (settings.TraceResponse)
        {
            headers[TraceResponse] = trace.ToString();
        }
    }
}
