using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Requests.Tests.Support;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.Requests.Tests.Seams;

/// <summary>Review probes for IRequestContextPropagator: documented behaviour and hostile carriers.</summary>
public class PropagatorSeamTests
{
    [Fact]
    public void Inject_OutsideARequest_WithAnAmbientActivity_WritesItsTrace_NoRequestId()
    {
        // IRequestContextPropagator.Inject: the request id inside a context; the trace headers whenever there is a
        // current span (a worker's own Activity), as OpenTelemetry's propagators do.
        using var worker = new Worker();
        using var activity = new Activity("worker-loop").SetIdFormat(ActivityIdFormat.W3C).Start();
        var headers = new Dictionary<string, string>();

        worker.Propagator.Inject(headers, static (carrier, name, value) => carrier[name] = value);

        Assert.Equal($"00-{activity.TraceId}-{activity.SpanId}-00", headers["traceparent"]);
        Assert.False(headers.ContainsKey("X-Request-ID"));
    }

    [Fact]
    public void Inject_OutsideARequest_WithoutAnActivity_WritesNothing()
    {
        using var worker = new Worker();
        var previous = Activity.Current;
        Activity.Current = null;
        try
        {
            var headers = new Dictionary<string, string>();
            worker.Propagator.Inject(headers, static (carrier, name, value) => carrier[name] = value);
            Assert.Empty(headers);
        }
        finally
        {
            Activity.Current = previous;
        }
    }

    [Fact]
    public void Extract_HostileCarrier_NullEntriesAndHugeValues_GivesFreshValuesWithoutThrowing()
    {
        using var worker = new Worker();
        var huge = new string('a', 1_000_000);
        StringValues Get(object? _, string name) => name switch
        {
            "X-Request-ID" => new StringValues([null]),
            "traceparent" => new StringValues([null]),
            "tracestate" => new StringValues([null, huge]),
            _ => new StringValues(huge),
        };

        var context = worker.Propagator.Extract<object?>(null, Get);

        var (requestId, trace) = context.Run(() => (RequestContext.RequestId.Get(), RequestContext.Trace.Get()));
        Assert.NotNull(requestId);
        Assert.Matches("^[0-9a-f]{32}$", requestId);
        Assert.NotNull(trace);
        Assert.Null(trace!.ParentSpanId);
        Assert.Null(trace.TraceState);
    }
}
