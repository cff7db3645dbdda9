namespace ContextMiddleware.Distributed.Api;

/// <summary>The API's answer to <c>POST /orders/{id}</c> (202): the order, the request's ids and the job's id.</summary>
internal sealed record OrderAccepted(int OrderId, string RequestId, string TraceId, string JobId);
