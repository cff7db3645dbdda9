using System.Collections.Concurrent;
using System.Text.Json;
using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>
/// Many connections, many interleaved invocations on each: every invocation and every event it writes (as the JSON
/// console shows it) agree on one request id, trace id, user, hub, method and connection, and no two invocations share
/// an id.
/// </summary>
public sealed class ConcurrencyTests
{
    private const int Connections = 50;
    private const int InvocationsPerConnection = 20;

    [Theory]
    [MemberData(nameof(InvocationContextTests.Transports), MemberType = typeof(InvocationContextTests))]
    public async Task Fifty_connections_with_twenty_interleaved_invocations_each_never_cross(HttpTransportType transport)
    {
        await using var app = await HubApp.StartAsync(configureBuilder: builder => JsonConsoleCapture.AddTo(builder.Logging));
        var console = app.App.Services.GetRequiredService<JsonConsoleCapture>();

        // Even connections are JWT users of their own, odd ones anonymous.
        var connections = await Task.WhenAll(Enumerable.Range(0, Connections).Select(i =>
            HubApp.ConnectAsync(app, transport, i % 2 == 0 ? Jwt.CreateToken($"user-{i}", $"User {i}") : null)));
        var results = new ConcurrentBag<(int Connection, string ConnectionId, Observed[] Seen)>();
        try
        {
            await Task.WhenAll(connections.Select((connection, i) => Task.WhenAll(Enumerable.Range(0, InvocationsPerConnection).Select(async n =>
            {
                var seen = await connection.InvokeAsync<Observed[]>("Echo", $"c{i}-n{n}");
                results.Add((i, connection.ConnectionId!, seen));
            }))));
        }
        finally
        {
            await Task.WhenAll(connections.Select(connection => connection.DisposeAsync().AsTask()));
        }

        Assert.Equal(Connections * InvocationsPerConnection, results.Count);
        var events = console.Events
            .Where(e => e.GetProperty("Category").GetString() == typeof(ContextHub).FullName)
            .GroupBy(e => e.GetProperty("State").GetProperty("Tag").GetString()!)
            .ToDictionary(group => group.Key, group => group.ToList());
        var mismatches = new List<string>();
        foreach (var (i, connectionId, seen) in results)
        {
            var invocation = seen[0];
            var expectedUser = i % 2 == 0 ? $"user-{i}" : null;
            if (seen.Any(observed => observed with { Tag = invocation.Tag } != invocation) || invocation.UserId != expectedUser ||
                invocation.TraceId != invocation.ActivityTraceId || invocation.RequestId is null)
            {
                mismatches.Add($"{invocation.Tag}: the invocation saw {string.Join(", ", seen.Select(observed => observed.ToString()))}");
            }

            var written = events.GetValueOrDefault(invocation.Tag!) ?? [];
            if (written.Count != 3)
            {
                mismatches.Add($"{invocation.Tag}: {written.Count} events");
            }

            foreach (var e in written)
            {
                string?[] shown =
                [
                    JsonConsoleCapture.ScopeValue(e, "RequestId"), JsonConsoleCapture.ScopeValue(e, "TraceId"), JsonConsoleCapture.ScopeValue(e, "UserId"),
                    JsonConsoleCapture.ScopeValue(e, "Hub"), JsonConsoleCapture.ScopeValue(e, "HubMethod"), JsonConsoleCapture.ScopeValue(e, "HubConnectionId"),
                    JsonConsoleCapture.ScopeValue(e, "ConnectionRequestId"),
                ];
                string?[] expected =
                [
                    invocation.RequestId, invocation.TraceId, expectedUser, nameof(ContextHub), "Echo", connectionId, invocation.ConnectionRequestId,
                ];
                // One RequestId per event: the connection request's hosting scope is shown without its own.
                if (!shown.SequenceEqual(expected) || JsonConsoleCapture.ScopeValues(e, "RequestId").Count != 1)
                {
                    mismatches.Add($"{invocation.Tag}: an event shows [{string.Join(", ", shown)}], the invocation [{string.Join(", ", expected)}]");
                }
            }
        }

        Assert.Empty(mismatches);
        Assert.Equal(results.Count, results.Select(result => result.Seen[0].RequestId).Distinct().Count());
        Assert.Equal(results.Count, results.Select(result => result.Seen[0].TraceId).Distinct().Count());
        Assert.Equal(Connections, results.Select(result => result.Seen[0].ConnectionRequestId).Distinct().Count());
    }
}
