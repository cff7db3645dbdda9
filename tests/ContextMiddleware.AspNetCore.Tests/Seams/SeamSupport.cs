using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;
using LogRecord = ContextMiddleware.Testing.LogRecord;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>Helpers shared by the seam tests.</summary>
internal static class SeamSupport
{
    public static List<LogRecord> ErrorsWithException(TestApp app) =>
        [.. app.Logs.Records.Where(r => r.Level >= LogLevel.Error && r.Exception is not null)];

    public static List<LogRecord> Errors(TestApp app) =>
        [.. app.Logs.Records.Where(r => r.Level >= LogLevel.Error)];

    public static string Describe(IEnumerable<LogRecord> records) =>
        string.Join(" || ", records.Select(r => $"{r.Category}/{r.EventId.Name ?? r.EventId.Id.ToString()} {r.Level} RequestId={r.RequestId ?? "null"} Exception={r.Exception?.GetType().Name ?? "none"}: {r.Message}"));

    public static Task WaitForRequestFinishedAsync(TestApp app, int count = 1) =>
        WaitUntilAsync(() => app.Logs.Records.Count(r => r.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && r.EventId.Id == 2) >= count);

    public static Task WaitUntilAsync(Func<bool> condition, int seconds = 10) => Wait.UntilAsync(condition, seconds);

    public static async Task<bool> IsCollectedAsync(WeakReference weak)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            if (!weak.IsAlive)
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }
}
