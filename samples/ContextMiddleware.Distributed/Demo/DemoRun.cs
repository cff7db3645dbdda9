using System.Security.Cryptography;

namespace ContextMiddleware.Distributed.Demo;

/// <summary>
/// One run of the demo: a random id that names its request (<c>X-Request-ID: demo-…</c>), its queue and its Hangfire
/// schema, so that two runs (or a run and the tests) never share a queue or a job.
/// </summary>
internal sealed record DemoRun(string Id)
{
    public const int OrderId = 1001;

    public static DemoRun New() => new(RandomNumberGenerator.GetHexString(8, lowercase: true));

    public string RequestId => $"demo-{Id}";

    public string Queue => $"distributed-demo-{Id}";

    public string Schema => $"distributed_demo_{Id}";
}
