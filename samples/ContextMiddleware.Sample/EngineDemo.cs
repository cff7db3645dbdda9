using ContextMiddleware;

namespace ContextMiddleware.Sample;

/// <summary>
/// The classic Python contextvars examples (a global overwritten by interleaved requests, handle_request with gather,
/// tokens, copy_context, create_task, threads), one by one, on ContextMiddleware's engine. Each prints the lines the
/// Python version prints; where .NET behaves differently from Python, the demo says so.
/// </summary>
public static class EngineDemo
{
    private static readonly ContextVar<string?> RequestId = new("request_id", "none");
    private static readonly ContextVar<IReadOnlyDictionary<string, object>> UserContext =
        new("user_context", new Dictionary<string, object> { ["guest"] = true });
    private static readonly ContextVar<string> TraceId = new("trace_id", "");
    private static readonly ContextVar<string> ThreadLocalVar = new("thread_local_var", "default");

    // The first example: a plain global, overwritten when requests interleave.
    private static string? s_globalRequestId;

    /// <summary>Runs every example, writing its lines to <paramref name="output"/>.</summary>
    /// <param name="output">Where the lines go.</param>
    /// <returns>A task that completes when every example has run.</returns>
    public static async Task RunAsync(TextWriter output)
    {
        output.WriteLine("# 1. The problem: a global variable, overwritten when two requests interleave");
        await GlobalVariableAsync(output);
        output.WriteLine();

        output.WriteLine("# 2. ContextVar: each concurrent request keeps its own request_id (asyncio.gather -> Task.WhenAll)");
        await GatherAsync(output);
        output.WriteLine();

        output.WriteLine("# 3. Get, Set and Reset with a token, back to the default");
        TokenReset(output);
        output.WriteLine();

        output.WriteLine("# 4. copy_context(): a child runs in a copy of the parent's context");
        await CopyContextAsync(output);
        output.WriteLine();

        output.WriteLine("# 5. create_task -> Task.Run: a new task inherits its parent's context");
        await CreateTaskAsync(output);
        output.WriteLine();

        output.WriteLine("# 6. Threads: the async worker's value does not reach the thread");
        await ThreadsAsync(output);
    }

    /// <summary>Example 1: both requests print the id of whichever request wrote the global last.</summary>
    public static async Task GlobalVariableAsync(TextWriter output)
    {
        // Force the interleaving that asyncio would produce: A writes, B writes, then both read.
        var bothWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = 0;

        async Task HandleRequest(string requestId)
        {
            s_globalRequestId = requestId;
            if (Interlocked.Increment(ref writes) == 2)
            {
                bothWritten.SetResult();
            }

            await bothWritten.Task;
            lock (output)
            {
                output.WriteLine($"Fetching data for {s_globalRequestId}    <- handling {requestId}");
            }
        }

        await Task.WhenAll(HandleRequest("req-123"), HandleRequest("req-456"));
    }

    /// <summary>Example 2: <c>handle_request</c>/<c>fetch_data</c> with <c>gather</c>.</summary>
    public static async Task GatherAsync(TextWriter output)
    {
        async Task FetchData()
        {
            // Each task sees its own value
            lock (output)
            {
                output.WriteLine($"Fetching data for {RequestId.Get()}");
            }

            await Task.Delay(100);
        }

        async Task HandleRequest(string requestId)
        {
            // Set the value for this context
            var token = RequestId.Set(requestId);
            try
            {
                await FetchData();
                await FetchData();
            }
            finally
            {
                // Restore the previous value
                RequestId.Reset(token);
            }
        }

        await Task.WhenAll(HandleRequest("req-123"), HandleRequest("req-456"));
    }

    /// <summary>Example 3: <c>user_context</c> with a dictionary default, set, then reset.</summary>
    public static void TokenReset(TextWriter output)
    {
        // Get the default
        output.WriteLine(Format(UserContext.Get()));

        // Set a new value
        var token = UserContext.Set(new Dictionary<string, object> { ["user"] = "alice", ["guest"] = false });
        output.WriteLine(Format(UserContext.Get()));

        // Reset back to default
        UserContext.Reset(token);
        output.WriteLine(Format(UserContext.Get()));
    }

    /// <summary>Example 4: <c>copy_context()</c>, and a child run inside the copy.</summary>
    public static async Task CopyContextAsync(TextWriter output)
    {
        async Task ChildTask()
        {
            // This runs in a copy of the parent's context
            output.WriteLine($"Child sees trace_id: {TraceId.Get()}");
            await Task.Delay(100);
        }

        TraceId.Set("abc-123");

        // Create a copy of the current context
        var ctx = Context.CopyCurrent();

        // Run child tasks in that context
        await Task.WhenAll(ctx.Run(ChildTask));
    }

    /// <summary>Example 5: a task created inside a request inherits its request id.</summary>
    public static async Task CreateTaskAsync(TextWriter output)
    {
        void LogRequest()
        {
            // This runs in the task's context
            lock (output)
            {
                output.WriteLine($"Logging request: {RequestId.Get()}");
            }
        }

        async Task HandleRequest(string requestId)
        {
            RequestId.Set(requestId);

            // Creating a task inherits the context
            var task = Task.Run(LogRequest);
            await task;
        }

        await Task.WhenAll(HandleRequest("req-1"), HandleRequest("req-2"));
    }

    /// <summary>Example 6: an async worker sets a value; a thread started afterwards sees the default.</summary>
    public static async Task ThreadsAsync(TextWriter output)
    {
        async Task AsyncWorker()
        {
            ThreadLocalVar.Set("async value");
            output.WriteLine($"Async task: {ThreadLocalVar.Get()}");
            await Task.Yield();
        }

        void ThreadWorker() => output.WriteLine($"Thread {Thread.CurrentThread.Name}: {ThreadLocalVar.Get()}");

        // Run in async context
        await AsyncWorker();

        // Run in thread
        var thread = new Thread(ThreadWorker) { Name = "Thread-1" };
        thread.Start();
        thread.Join();

        // On .NET a new thread inherits its creator's values (a Python thread starts empty); the thread above sees
        // the default because a set inside an awaited async method stays in that method. Setting the value here
        // shows the inheritance; SuppressFlow gives a thread Python's empty start.
        ThreadLocalVar.Set("main value");
        var inheriting = new Thread(ThreadWorker) { Name = "Thread-2" };
        inheriting.Start();
        inheriting.Join();
        using (ExecutionContext.SuppressFlow())
        {
            var empty = new Thread(ThreadWorker) { Name = "Thread-3 (SuppressFlow)" };
            empty.Start();
            empty.Join();
        }
    }

    /// <summary>Formats a dictionary the way Python prints one: <c>{'user': 'alice', 'guest': False}</c>.</summary>
    private static string Format(IReadOnlyDictionary<string, object> values) =>
        "{" + string.Join(", ", values.Select(pair => $"'{pair.Key}': {FormatValue(pair.Value)}")) + "}";

    private static string FormatValue(object value) => value switch
    {
        bool flag => flag ? "True" : "False",
        string text => $"'{text}'",
        _ => value.ToString() ?? string.Empty,
    };
}
