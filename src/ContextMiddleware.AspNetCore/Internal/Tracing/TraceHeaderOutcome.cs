namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>What was wrong with a request's trace headers.</summary>
internal enum TraceHeaderProblem : byte
{
    /// <summary>Nothing: the headers were used as sent, or there were none.</summary>
    None,

    /// <summary>The caller is not trusted with the trace context: the trace headers were removed.</summary>
    Untrusted,

    /// <summary>The traceparent was invalid: it was removed with its tracestate.</summary>
    InvalidTraceParent,

    /// <summary>The tracestate was invalid: it was removed.</summary>
    InvalidTraceState,
}

/// <summary>
/// What <see cref="HostingTraceContextPropagator"/> did with a request's trace headers, kept to be logged once the
/// request's context has begun, so that the records carry the request's ids.
/// </summary>
/// <param name="Problem">What was wrong.</param>
/// <param name="Count">How many traceparent values the request had.</param>
/// <param name="TrustFailure">The exception the trust policy threw, if it did.</param>
internal readonly record struct TraceHeaderOutcome(TraceHeaderProblem Problem, int Count = 0, Exception? TrustFailure = null)
{
    /// <summary>What the trust policy was asked about when it threw <see cref="TrustFailure"/>.</summary>
    public IncomingValue TrustFailureValue { get; init; }

    /// <summary>Whether the caller sent baggage it is not trusted with (removed from the request).</summary>
    public bool UntrustedBaggage { get; init; }

    /// <summary>
    /// The <c>baggage</c> lines as the caller sent them, when the request's header was rewritten to the members kept;
    /// the request's context begins from these, so that what was dropped is logged with the request's ids.
    /// </summary>
    public Microsoft.Extensions.Primitives.StringValues OriginalBaggage { get; init; }
}
