using System.Text.Json;
using ContextMiddleware.AspNetCore;
using Hangfire.Client;
using Hangfire.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.Hangfire.Internal;

/// <summary>
/// Carries the request context into Hangfire jobs. Creating: the creating flow's context (request id, trace naming the
/// current span, baggage, the user id when the app opted in) is stored as one job parameter, which retries keep.
/// Performing: the context is extracted with the rules of every message (the one trust policy, validation, fresh ids
/// when there are none) and made current for the job, under a consumer Activity that is a child of the creating span;
/// when the job has been performed, the worker's own execution context is put back exactly as it was.
/// </summary>
/// <remarks>
/// Hangfire performs a job synchronously on its worker's thread between a filter's <c>OnPerforming</c> and
/// <c>OnPerformed</c> (an async job method is waited for), so the job's execution context is restored on that thread in
/// <c>OnPerforming</c> and the worker's restored in <c>OnPerformed</c>, which Hangfire calls whenever
/// <c>OnPerforming</c> returned (also when the job throws or is cancelled).
/// </remarks>
internal sealed class RequestContextJobFilter(IRequestContextPropagator propagator, ILogger logger) : IClientFilter, IServerFilter
{
    /// <summary>The job parameter the context is stored in.</summary>
    public const string ParameterName = "RequestContext";

    private const string ItemKey = "ContextMiddleware.Hangfire.Performance";

    private static readonly Func<Dictionary<string, StringValues>?, string, StringValues> s_getter =
        static (headers, name) => headers is not null && headers.TryGetValue(name, out var value) ? value : StringValues.Empty;

    public void OnCreating(CreatingContext context)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        propagator.Inject((IDictionary<string, string>)headers);
        if (headers.Count != 0)
        {
            context.SetJobParameter(ParameterName, headers);
        }
    }

    public void OnCreated(CreatedContext context)
    {
    }

    public void OnPerforming(PerformingContext context)
    {
        var worker = ExecutionContext.Capture();
        if (worker is null)
        {
            return; // Flow suppressed by the host: there is nothing to restore to, so the job runs as it is.
        }

        var headers = ReadParameter(context);

        var jobContext = propagator.Extract(headers, s_getter);
        var performed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ExecutionContext? job = null;
        var running = propagator.RunAsync(
            jobContext,
            () =>
            {
                job = ExecutionContext.Capture();
                return performed.Task;
            },
            $"perform {context.BackgroundJob.Job?.Type.Name}.{context.BackgroundJob.Job?.Method.Name}");

        context.Items[ItemKey] = new Performance(worker, performed, running);
        ExecutionContext.Restore(job!);
    }

    public void OnPerformed(PerformedContext context)
    {
        if (!context.Items.TryGetValue(ItemKey, out var item) || item is not Performance performance)
        {
            return;
        }

        context.Items.Remove(ItemKey);
        try
        {
            var failure = context.Exception is { } exception && !context.ExceptionHandled ? Unwrap(exception) : null;
            if (failure is null or JobAbortedException ||
                (failure is OperationCanceledException && context.CancellationToken.ShutdownToken.IsCancellationRequested))
            {
                // Performed, or deleted while it ran (JobAbortedException) or stopped with the server: not a failure.
                performance.Performed.TrySetResult();
            }
            else
            {
                // Hangfire records the failure (and its retry); this record ties the job to the request's ids.
                HangfireLog.JobFailed(logger, context.BackgroundJob.Id, Describe(context), failure.GetType().FullName ?? "an exception");
                performance.Performed.TrySetException(failure);
            }

            // The consumer Activity ends on the continuation; wait for it, so the job's span closes before the worker goes on.
            try
            {
                performance.Running.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
                // The job's own exception, already recorded above and by Hangfire.
            }
        }
        finally
        {
            ExecutionContext.Restore(performance.Worker);
        }
    }

    /// <summary>
    /// The stored headers, names matched without case as over HTTP; a
    /// parameter that is not ours, or damaged, gives none: the job runs with fresh ids, and says why (never the value).
    /// </summary>
    private Dictionary<string, StringValues>? ReadParameter(PerformContext context)
    {
        try
        {
            // Read as stored (JSON), not through a dictionary: a name given twice must stay two values.
            var stored = context.Connection.GetJobParameter(context.BackgroundJob.Id, ParameterName);
            if (string.IsNullOrEmpty(stored))
            {
                return null;
            }

            using var json = JsonDocument.Parse(stored);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return json.RootElement.ValueKind == JsonValueKind.Null ? null : throw new JsonException("The parameter is not a JSON object.");
            }

            // Names without case, as over HTTP; a name given twice (in any case) is a repeated header, which the request
            // id and traceparent rules refuse (a fresh id, a new trace), as over HTTP. Only strings are ours to read.
            var values = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var property in json.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Null)
                {
                    continue;
                }

                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    throw new JsonException("A value of the parameter is not a string.");
                }

                if (!values.TryGetValue(property.Name, out var list))
                {
                    values[property.Name] = list = [];
                }

                list.Add(property.Value.GetString()!);
            }

            var headers = new Dictionary<string, StringValues>(values.Count, StringComparer.OrdinalIgnoreCase);
            foreach (var (name, list) in values)
            {
                headers[name] = list.Count == 1 ? new StringValues(list[0]) : new StringValues([.. list]);
            }

            return headers;
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            HangfireLog.UnreadableParameter(logger, context.BackgroundJob.Id, exception.GetType().Name);
            return null;
        }
    }

    private static string Describe(PerformContext context) =>
        context.BackgroundJob.Job is { } job ? $"{job.Type.Name}.{job.Method.Name}" : "an unknown method";

    private static Exception Unwrap(Exception exception) =>
        exception is JobPerformanceException { InnerException: { } inner } ? inner : exception;

    private sealed record Performance(ExecutionContext Worker, TaskCompletionSource Performed, Task Running);
}
