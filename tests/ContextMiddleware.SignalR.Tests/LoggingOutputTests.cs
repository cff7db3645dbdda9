using ContextMiddleware.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Serilog;
using Serilog.Formatting.Display;
using static ContextMiddleware.Testing.SerilogOutput;

namespace ContextMiddleware.SignalR.Tests;

/// <summary>What a hub's log lines show, as Serilog writes them (compact JSON and a text template with {TraceId}).</summary>
public sealed class LoggingOutputTests
{
    [Theory]
    [MemberData(nameof(InvocationContextTests.Transports), MemberType = typeof(InvocationContextTests))]
    public async Task Serilog_events_of_an_invocation_carry_its_ids_user_hub_method_and_connection(HttpTransportType transport)
    {
        var output = new SerilogOutput();
        var text = new StringWriter();
        await using var app = await HubApp.StartAsync(configureBuilder: builder =>
            builder.Services.AddSerilog(logger => logger
                .MinimumLevel.Information()
                .Enrich.WithRequestContext()
                .WriteTo.Sink(output.Sink)
                .WriteTo.Sink(new TemplateSink(TextWriter.Synchronized(text), "{TraceId} {SpanId} {RequestId} {Message:lj}{NewLine}"))));
        await using var connection = await HubApp.ConnectAsync(app, transport, Jwt.CreateToken("user-9", "Nine"));

        var seen = await connection.InvokeAsync<Observed[]>("Echo", "serilog");
        var streamed = new List<Observed>();
        await foreach (var item in connection.StreamAsync<Observed>("Count", "serilog-stream", 3))
        {
            streamed.Add(item);
        }

        var invocation = seen[0];
        var echoEvents = output.Events().Where(e => Property(e, "Tag") == "serilog").ToList();
        Assert.Equal(3, echoEvents.Count);
        Assert.All(echoEvents, e =>
        {
            Assert.Equal(invocation.RequestId, Property(e, "RequestId"));
            Assert.Equal(invocation.TraceId, Property(e, "TraceId"));
            Assert.Equal(invocation.TraceId, Property(e, "@tr"));
            Assert.Equal("user-9", Property(e, "UserId"));
            Assert.Equal(nameof(ContextHub), Property(e, "Hub"));
            Assert.Equal("Echo", Property(e, "HubMethod"));
            Assert.Equal(connection.ConnectionId, Property(e, "HubConnectionId"));
            Assert.Equal(invocation.ConnectionRequestId, Property(e, "ConnectionRequestId"));
        });

        var streamEvents = output.Events().Where(e => Property(e, "Tag") == "serilog-stream").ToList();
        Assert.Equal(3, streamEvents.Count);
        Assert.All(streamEvents, e =>
        {
            Assert.Equal(streamed[0].RequestId, Property(e, "RequestId"));
            Assert.Equal(streamed[0].TraceId, Property(e, "@tr"));
            Assert.Equal("Count", Property(e, "HubMethod"));
        });

        // Request properties are the invocation's: set in one, on its events, not seen by the next.
        Assert.Null(await connection.InvokeAsync<string?>("Property", "first"));
        Assert.Null(await connection.InvokeAsync<string?>("Property", "second"));
        var propertyEvents = output.Events().Where(e => Property(e, "@mt") == "Property {Tag}").ToList();
        Assert.Equal(2, propertyEvents.Count);
        Assert.All(propertyEvents, e => Assert.Equal(Property(e, "Tag"), Property(e, "tag")));

        // A text template's {TraceId} (Serilog's own, from Activity.Current) is the invocation's, never empty.
        var lines = text.ToString().Split('\n').Where(line => line.EndsWith("Echo \"serilog\"", StringComparison.Ordinal) || line.Contains("Echo serilog", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines, line => Assert.StartsWith($"{invocation.TraceId} {invocation.SpanId} {invocation.RequestId} ", line, StringComparison.Ordinal));
    }

    private sealed class TemplateSink(TextWriter writer, string template) : global::Serilog.Core.ILogEventSink
    {
        private readonly MessageTemplateTextFormatter _formatter = new(template);

        public void Emit(global::Serilog.Events.LogEvent logEvent) => _formatter.Format(logEvent, writer);
    }
}
