namespace ContextMiddleware.Testing;

/// <summary>
/// A lock held across the test processes of the machine: <c>dotnet test ContextMiddleware.sln</c> runs test assemblies
/// in parallel, and some tests must not overlap with another assembly's (the RabbitMQ broker's restart and the
/// distributed demo, which needs the broker throughout). A file in the temp folder, opened exclusively (an advisory
/// <c>flock</c> on Unix); the lock goes with the process if it dies.
/// </summary>
public sealed class MachineLock : IDisposable
{
    /// <summary>Held while the RabbitMQ broker on 127.0.0.1 is stopped and started, and by tests that need it up all along.</summary>
    public const string RabbitMQBroker = "rabbitmq-broker";

    private readonly FileStream _file;

    private MachineLock(FileStream file) => _file = file;

    public static async Task<MachineLock> AcquireAsync(string name, TimeSpan timeout)
    {
        var path = Path.Combine(Path.GetTempPath(), $"contextmiddleware-tests-{name}.lock");
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                return new MachineLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
