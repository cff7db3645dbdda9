using System.Diagnostics;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Internal.Tracing;

/// <summary>The trace of a call or message that has no Activity of its own, read from its headers.</summary>
internal static class IncomingTrace
{
    /// <summary>
    /// The caller's trace continued with a fresh span id when the caller is trusted and its <c>traceparent</c> is
    /// valid (one header line; the tracestate kept when valid), otherwise a new trace (<c>newTrace</c>).
    /// </summary>
    public static TraceContext Read<TCarrier>(TCarrier carrier, Func<TCarrier, string, StringValues> getter, bool trusted, out bool newTrace)
    {
        if (trusted)
        {
            var parents = getter(carrier, TraceHeaders.TraceParent);
            if (parents.Count == 1 && TraceParent.TryParse(parents[0], out var parent))
            {
                newTrace = false;
                return new TraceContext(
                    parent.TraceId.ToHexString(),
                    ActivitySpanId.CreateRandom().ToHexString(),
                    parent.ParentSpanId.ToHexString(),
                    parent.Flags,
                    TraceState.Validate(getter(carrier, TraceHeaders.TraceState)));
            }
        }

        newTrace = true;
        return new TraceContext(
            ActivityTraceId.CreateRandom().ToHexString(), ActivitySpanId.CreateRandom().ToHexString(), null, TraceParent.SampledFlag, null);
    }
}
