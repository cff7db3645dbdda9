namespace ContextMiddleware.AspNetCore.Internal.Pipeline;

/// <summary>Why a request is rejected for its request id: a request feature that only such a request has.</summary>
internal sealed record Rejection(string Detail);
