using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// One of the demo's three processes: this same program started with a role (<c>api</c>, <c>worker</c>, <c>jobs</c>),
/// its standard output read line by line as compact JSON log events, its standard error kept. Stopped by closing its
/// standard input (it then stops gracefully), killed when it does not stop in time, killed on dispose if still running.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<ChildLine> _lines = [];
    private readonly List<string> _errors = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _exited;
    private long _sequence;

    private ChildProcess(string role, Process process)
    {
        Role = role;
        _process = process;
    }

    public string Role { get; }

    /// <summary>The process's label on the demo's lines: <c>[api]</c>.</summary>
    public string Label => $"[{Role}]";

    public int Id { get; private set; }

    public DateTimeOffset StartedAt { get; private set; }

    /// <summary>How the demo starts this program again: the apphost, or <c>dotnet</c> and the assembly under <c>dotnet</c>.</summary>
    public static (string FileName, string[] Arguments) Self()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown.");
        var assembly = Assembly.GetEntryAssembly()?.Location;
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase) && assembly is { Length: > 0 }
            ? (process, [assembly])
            : (process, []);
    }

    /// <summary>Describes the command line, for the demo's output: <c>dotnet ContextMiddleware.Distributed.dll</c>.</summary>
    public static string DescribeSelf()
    {
        var (fileName, arguments) = Self();
        return string.Join(' ', arguments.Length == 0
            ? [Path.GetFileName(fileName)]
            : new[] { Path.GetFileNameWithoutExtension(fileName) }.Concat(arguments.Select(Path.GetFileName)));
    }

    public static ChildProcess Start(string role, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var (fileName, self) = Self();
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        foreach (var argument in self.Append(role).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(role, process);
        process.OutputDataReceived += (_, e) => child.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnError(e.Data);
        process.Exited += (_, _) => _ = child.OnExitedAsync();
        child.StartedAt = DateTimeOffset.Now;
        process.Start();
        child.Id = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The lines written to standard output so far, in order.</summary>
    public IReadOnlyList<ChildLine> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The lines written to standard error so far.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_lock)
            {
                return [.. _errors];
            }
        }
    }

    public bool HasExited
    {
        get
        {
            lock (_lock)
            {
                return _exited;
            }
        }
    }

    /// <summary>The exit code once the process has exited and its output has been read; null before.</summary>
    public int? ExitCode => HasExited ? _process.ExitCode : null;

    /// <summary>Waits for the first line that matches; null when the process exited without writing one.</summary>
    public async Task<ChildLine?> WaitForAsync(Func<ChildLine, bool> match, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_lines.FirstOrDefault(match) is { } line)
                {
                    return line;
                }

                if (_exited)
                {
                    return null;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Stops the process: closes its standard input (it stops gracefully), and kills it (with any process it started)
    /// when it has not exited within <paramref name="timeout"/>. Says how it ended.
    /// </summary>
    public async Task<string> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            try
            {
                _process.StandardInput.Close();
            }
            catch (IOException)
            {
                // It is exiting already.
            }
        }

        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            await WaitUntilReadAsync();
            return $"exited with {_process.ExitCode.ToString(CultureInfo.InvariantCulture)}";
        }
        catch (OperationCanceledException)
        {
            Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
            await WaitUntilReadAsync();
            return $"killed: it had not stopped {timeout.TotalSeconds:0} s after its input closed";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Kill();
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    private async Task WaitUntilReadAsync()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (!HasExited && !wait.IsCancellationRequested)
        {
            await Task.Delay(20, CancellationToken.None);
        }
    }

    private async Task OnExitedAsync()
    {
        // WaitForExitAsync returns once the redirected output has been read to its end: no line comes after it.
        await _process.WaitForExitAsync(CancellationToken.None);
        lock (_lock)
        {
            _exited = true;
            Signal();
        }
    }

    private void OnOutput(string? text)
    {
        if (text is null)
        {
            return;
        }

        lock (_lock)
        {
            _lines.Add(ChildLine.Read(Role, ++_sequence, text));
            Signal();
        }
    }

    private void OnError(string? text)
    {
        if (text is not null)
        {
            lock (_lock)
            {
                _errors.Add(text);
            }
        }
    }

    // Called under the lock.
    private void Signal()
    {
        _changed.TrySetResult();
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
