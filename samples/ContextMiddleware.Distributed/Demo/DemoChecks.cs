using System.Globalization;
using Serilog.Events;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// What the demo claims about the request's lines in the three processes, checked on the events read back from their
/// compact JSON: each process wrote its lines of the order, and every line that concerns the request (by its ids, its
/// order id or its path) carries the request's id and the API's trace id, both the enricher's properties and the
/// event's own trace id (Activity.Current where it was written); the worker and the job under spans of their own.
/// </summary>
internal static class DemoChecks
{
    /// <summary>One line a process writes for the order.</summary>
    internal sealed record Stage(string Role, string Name, Func<ChildLine, bool> Is);

    private static readonly string OrderId = DemoRun.OrderId.ToString(CultureInfo.InvariantCulture);

    /// <summary>The order's lines, process by process, in the order each process writes them.</summary>
    public static readonly IReadOnlyList<Stage> Stages =
    [
        new(Roles.Api, "accepted", line => line.Is(LogTemplates.Accepted) && IsTheOrder(line)),
        new(Roles.Api, "published", line => line.Is(LogTemplates.Published) && IsTheOrder(line)),
        new(Roles.Api, "enqueued", line => line.Is(LogTemplates.Enqueued) && IsTheOrder(line)),
        new(Roles.Api, "responded", line => line.Property("SourceContext") == "Serilog.AspNetCore.RequestLoggingMiddleware"
            && line.Property("RequestPath") == $"/orders/{OrderId}"),
        new(Roles.Worker, "received", line => line.Is(LogTemplates.Received) && IsTheOrder(line)),
        new(Roles.Worker, "reserved", line => line.Is(LogTemplates.Reserved) && IsTheOrder(line)),
        new(Roles.Jobs, "sending", line => line.Is(LogTemplates.Sending) && IsTheOrder(line)),
        new(Roles.Jobs, "sent", line => line.Is(LogTemplates.Sent) && IsTheOrder(line)),
    ];

    /// <summary>The API's trace id: from its answer, or else from its first line of the order.</summary>
    public static string? TraceIdOf(DemoResponse? response, IReadOnlyList<ChildLine> lines) =>
        response?.Accepted?.TraceId
        ?? lines.FirstOrDefault(line => line.Role == Roles.Api && Stages[0].Is(line))?.Property("TraceId");

    /// <summary>Checks the run; each problem in words. What passed goes to <paramref name="passed"/>.</summary>
    public static List<string> Check(DemoRun run, DemoResponse? response, IReadOnlyList<ChildLine> lines, List<string> passed)
    {
        var problems = new List<string>();
        if (response is null)
        {
            problems.Add("[api] the request got no answer");
        }
        else if (response.Status != 202 || response.EchoedRequestId != run.RequestId || response.Accepted?.RequestId != run.RequestId)
        {
            problems.Add($"[api] answered {response}");
        }

        var traceId = TraceIdOf(response, lines);
        if (traceId is not { Length: 32 })
        {
            problems.Add($"no trace id of the request ({traceId ?? "none"})");
            return problems;
        }

        var apiSpanId = lines.FirstOrDefault(line => line.Role == Roles.Api && Stages[0].Is(line))?.Property("SpanId");
        foreach (var role in Roles.All)
        {
            var label = $"[{role}]";
            var own = lines.Where(line => line.Role == role).ToList();
            var roleProblems = new List<string>();

            var notEvents = own.Count(line => line.Event is null);
            if (notEvents > 0)
            {
                roleProblems.Add($"{label} wrote {notEvents} lines that are not compact JSON log events");
            }

            var errors = own.Where(line => line.Event?.Level >= LogEventLevel.Error).ToList();
            roleProblems.AddRange(errors.Select(line => $"{label} logged an error: {DistributedDemo.Message(line)}"));

            var concerning = own.Where(line => Concerns(line, run, traceId)).ToList();
            foreach (var line in concerning.Where(line => !CarriesTheIds(line, run, traceId)))
            {
                roleProblems.Add($"{label} a line of the request carries RequestId {line.Property("RequestId") ?? "(none)"}, "
                    + $"TraceId {line.Property("TraceId") ?? "(none)"}, event trace id {EventTraceId(line) ?? "(none)"}: {DistributedDemo.Message(line)}");
            }

            var stages = Stages.Where(stage => stage.Role == role).ToList();
            foreach (var stage in stages)
            {
                var count = concerning.Count(stage.Is);
                if (count != 1)
                {
                    roleProblems.Add($"{label} {count} '{stage.Name}' lines instead of 1");
                }
            }

            if (role != Roles.Api && apiSpanId is not null && concerning.Any(line => line.Property("SpanId") == apiSpanId))
            {
                roleProblems.Add($"{label} its lines have the API's span id {apiSpanId}, not one of their own");
            }

            problems.AddRange(roleProblems);
            if (roleProblems.Count == 0)
            {
                var span = role == Roles.Api
                    ? $"span {apiSpanId}"
                    : $"span {concerning.Select(line => line.Property("SpanId")).FirstOrDefault()} (its own, not the API's)";
                passed.Add($"{label,-8} {concerning.Count} lines of the request ({string.Join(", ", stages.Select(stage => stage.Name))}), "
                    + $"each with RequestId {run.RequestId} and TraceId {traceId}; {span}");
            }
        }

        return problems;
    }

    /// <summary>Whether a line is about the request: it names the request's id or trace, or the order.</summary>
    private static bool Concerns(ChildLine line, DemoRun run, string traceId) =>
        line.Event is not null
        && (line.Property("RequestId") == run.RequestId
            || line.Property("TraceId") == traceId
            || EventTraceId(line) == traceId
            || IsTheOrder(line)
            || line.Property("RequestPath") == $"/orders/{OrderId}");

    private static bool CarriesTheIds(ChildLine line, DemoRun run, string traceId) =>
        line.Property("RequestId") == run.RequestId && line.Property("TraceId") == traceId && EventTraceId(line) == traceId;

    private static bool IsTheOrder(ChildLine line) => line.Property("OrderId") == OrderId;

    private static string? EventTraceId(ChildLine line) =>
        line.Event?.TraceId is { } id && id != default ? id.ToHexString() : null;
}
