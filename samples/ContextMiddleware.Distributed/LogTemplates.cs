namespace ContextMiddleware.Distributed;

/// <summary>
/// The message templates of the roles' log events. The demo tells the events apart by these templates (the <c>@mt</c>
/// of each compact JSON line), never by the rendered text.
/// </summary>
internal static class LogTemplates
{
    // Each process is ready: written outside any request (RequestId "-").
    public const string ApiReady = "API listening on {Address}, publishing to queue {Queue}, enqueuing jobs in schema {Schema}";
    public const string WorkerReady = "Worker consuming queue {Queue}";
    public const string JobsReady = "Jobs server performing jobs from schema {Schema}";

    // The API, in the request.
    public const string Accepted = "Accepted order {OrderId}";
    public const string Published = "Published order {OrderId} to queue {Queue}";
    public const string Enqueued = "Enqueued confirmation job {JobId} for order {OrderId}";

    // The worker, in the message's context.
    public const string Received = "Received order {OrderId} from queue {Queue}";
    public const string Reserved = "Reserved stock for order {OrderId}";

    // The jobs process, in the job's context.
    public const string Sending = "Sending the confirmation of order {OrderId}";
    public const string Sent = "Sent the confirmation of order {OrderId}";
}
