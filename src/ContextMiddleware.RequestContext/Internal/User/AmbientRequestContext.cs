namespace ContextMiddleware.AspNetCore.Internal.User;

/// <summary>The injectable <see cref="IRequestContext"/>: a singleton that reads <see cref="RequestContext"/>.</summary>
internal sealed class AmbientRequestContext(AmbientCurrentUser user) : IRequestContext
{
    public string RequestId => RequestContext.RequestId.Get() ?? string.Empty;

    public string? ClientRequestId => RequestContext.ClientRequestId.Get();

    public string TraceId => RequestContext.Trace.Get()?.TraceId ?? string.Empty;

    public string SpanId => RequestContext.Trace.Get()?.SpanId ?? string.Empty;

    public ICurrentUser User => user;
}
