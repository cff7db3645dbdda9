using System.Diagnostics;

namespace ContextMiddleware.Distributed.Tests;

/// <summary>
/// The built distributed program run as its own process (<c>dotnet ContextMiddleware.Distributed.dll …</c>, next to the
/// tests, with its appsettings.json), its output read line by line. Killed with its child processes on dispose if it
/// is still running.
/// </summary>
public sealed class DemoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _lock = new();

    private DemoProcess(Process process) => _process = process;

    public static DemoProcess Start(params string[] args)
    {
        var start = new ProcessStartInfo(
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(DistributedSettings).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        var process = new Process { StartInfo = start };
        var demo = new DemoProcess(process);
        process.OutputDataReceived += (_, e) => demo.Add(e.Data);
        process.ErrorDataReceived += (_, e) => demo.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return demo;
    }

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lock)
            {
                return [.. _lines];
            }
        }
    }

    public string Output => string.Join(Environment.NewLine, Lines);

    /// <summary>Waits for the process to end (and its output to be read); its exit code. Throws on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The demo did not end within {timeout.TotalSeconds:0} s; it printed:{Environment.NewLine}{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            lock (_lock)
            {
                _lines.Add(line);
            }
        }
    }
}
