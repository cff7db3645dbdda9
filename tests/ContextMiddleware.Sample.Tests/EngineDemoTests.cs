using ContextMiddleware.Sample;

namespace ContextMiddleware.Sample.Tests;

/// <summary>The classic contextvars examples, as the engine demo prints them, with the outcome the Python versions show.</summary>
public class EngineDemoTests
{
    [Fact]
    public async Task GlobalVariable_BothRequestsSeeTheLastWrite()
    {
        var lines = await Capture(EngineDemo.GlobalVariableAsync);

        Assert.Equal(2, lines.Length);
        Assert.All(lines, line => Assert.StartsWith("Fetching data for req-456", line, StringComparison.Ordinal));
        Assert.Contains(lines, line => line.EndsWith("handling req-123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gather_EachRequestSeesItsOwnId()
    {
        var lines = await Capture(EngineDemo.GatherAsync);

        Assert.Equal(
            ["Fetching data for req-123", "Fetching data for req-123", "Fetching data for req-456", "Fetching data for req-456"],
            lines.Order(StringComparer.Ordinal));
        Assert.Equal("Fetching data for req-123", lines[0]); // the first request runs first, as with asyncio
    }

    [Fact]
    public async Task TokenReset_PrintsTheGuidesThreeLines()
    {
        var lines = await Capture(output =>
        {
            EngineDemo.TokenReset(output);
            return Task.CompletedTask;
        });

        Assert.Equal(["{'guest': True}", "{'user': 'alice', 'guest': False}", "{'guest': True}"], lines);
    }

    [Fact]
    public async Task CopyContext_ChildSeesTheParentsTraceId()
    {
        var lines = await Capture(EngineDemo.CopyContextAsync);

        Assert.Equal(["Child sees trace_id: abc-123"], lines);
    }

    [Fact]
    public async Task CreateTask_EachTaskInheritsItsRequestsId()
    {
        var lines = await Capture(EngineDemo.CreateTaskAsync);

        Assert.Equal(["Logging request: req-1", "Logging request: req-2"], lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Threads_TheThreadSeesTheDefault()
    {
        var lines = await Capture(EngineDemo.ThreadsAsync);

        Assert.Equal(
            [
                "Async task: async value",
                "Thread Thread-1: default",
                "Thread Thread-2: main value",
                "Thread Thread-3 (SuppressFlow): default",
            ],
            lines);
    }

    [Fact]
    public async Task WholeDemo_RunsEveryExampleInOrder()
    {
        var lines = await Capture(EngineDemo.RunAsync);

        var headings = lines.Where(line => line.StartsWith("# ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(6, headings.Length);
        Assert.Contains("Child sees trace_id: abc-123", lines);
        Assert.Contains("Thread Thread-1: default", lines);
    }

    private static async Task<string[]> Capture(Func<TextWriter, Task> example)
    {
        using var output = new StringWriter();
        await example(TextWriter.Synchronized(output));
        return output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
    }
}
