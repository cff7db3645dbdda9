using System.Diagnostics;

namespace ContextMiddleware.AspNetCore.Internal;

/// <summary>
/// The propagator installed on the HttpClient's SocketsHttpHandler: writes trace headers only to allowed hosts,
/// by delegating to the process's <see cref="DistributedContextPropagator.Current"/>.
/// </summary>
internal sealed class AllowListPropagator(RequestContextSettings settings) : DistributedContextPropagator
{
    private static DistributedContextPropagator Inner => Current;

    public override IReadOnlyCollection<string> Fields => Inner.Fields;

    public override void Inject(Activity? activity, object? carrier, PropagatorSetterCallback? setter)
    {
        if (carrier is HttpRequestMessage request && !settings.IsPropagationAllowed(request.RequestUri))
        {
            return;
        }

        Inner.Inject(activity, carrier, setter);
    }

    public override void ExtractTraceIdAndState(
        object? carrier, PropagatorGetterCallback? getter, out string? traceId, out string? traceState) =>
        Inner.ExtractTraceIdAndState(carrier, getter, out traceId, out traceState);

    public override IEnumerable<KeyValuePair<string, string?>>? ExtractBaggage(object? carrier, PropagatorGetterCallback? getter) =>
        Inner.ExtractBaggage(carrier, getter);
}
