using ContextMiddleware.Sample.Orders;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Serilog.Events;

namespace ContextMiddleware.Sample.Demo;

/// <summary>
/// The demo's SignalR part: alice connects to the order-status hub and tracks both orders at once, on one connection;
/// each <c>Track</c> invocation must show a request id of its own on every line it writes and on every status it
/// pushes, none of them the connect request's.
/// </summary>
internal static class HubDemo
{
    public static readonly int[] Orders = [1001, 1002];

    /// <summary>Tracks <see cref="Orders"/> at once over a WebSocket; the statuses pushed, per order.</summary>
    public static async Task<IReadOnlyList<OrderStatus>[]> TrackAsync(Uri address, string token, CancellationToken cancellationToken)
    {
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(address, "/hubs/orders"), HttpTransportType.WebSockets, options => options.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        await connection.StartAsync(cancellationToken);
        return await Task.WhenAll(Orders.Select(async orderId =>
        {
            var statuses = new List<OrderStatus>();
            await foreach (var status in connection.StreamAsync<OrderStatus>("Track", orderId, cancellationToken))
            {
                statuses.Add(status);
            }

            return (IReadOnlyList<OrderStatus>)statuses;
        }));
    }

    /// <summary>What the walkthrough claims about one invocation; each problem found, in words.</summary>
    public static List<string> Check(int orderId, IReadOnlyList<OrderStatus> statuses, IReadOnlyList<LogEvent> events)
    {
        var problems = new List<string>();
        var requestIds = statuses.Select(status => status.RequestId).Distinct().ToList();
        if (statuses.Count != 3 || requestIds.Count != 1 || requestIds[0] is not { } requestId)
        {
            problems.Add($"{statuses.Count} statuses pushed with {requestIds.Count} request ids");
            return problems;
        }

        var lines = Lines(orderId, events);
        if (lines.Count != 4 || lines.Any(e => SampleDemo.Property(e, "RequestId") != requestId))
        {
            problems.Add($"{lines.Count} lines, not all with the invocation's request id {requestId}");
            return problems;
        }

        var connectionRequestIds = lines.Select(e => SampleDemo.Property(e, "ConnectionRequestId")).Distinct().ToList();
        if (connectionRequestIds is not [{ } connectionRequestId] || connectionRequestId == requestId)
        {
            problems.Add("its lines do not name one connect request, apart from the invocation");
        }

        if (lines.Select(e => e.TraceId?.ToHexString()).Distinct().Count() != 1 || lines[0].TraceId is null)
        {
            problems.Add("its lines do not carry one trace id");
        }

        if (lines.Any(e => SampleDemo.Property(e, "UserId") != "alice" || SampleDemo.Property(e, "HubMethod") != "Track"))
        {
            problems.Add("a line does not carry the user alice and the hub method Track");
        }

        return problems;
    }

    public static string Describe(int orderId, IReadOnlyList<LogEvent> events)
    {
        var lines = Lines(orderId, events);
        return $"Track({orderId}): {lines.Count} lines and 3 pushed statuses, request id {SampleDemo.Property(lines[0], "RequestId")} "
            + $"(its own), one trace id, user alice, connect request {SampleDemo.Property(lines[0], "ConnectionRequestId")}";
    }

    private static List<LogEvent> Lines(int orderId, IReadOnlyList<LogEvent> events) =>
        [.. events.Where(e => SampleDemo.Property(e, "Hub") == nameof(OrderStatusHub) && SampleDemo.Property(e, "OrderId") == orderId.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
