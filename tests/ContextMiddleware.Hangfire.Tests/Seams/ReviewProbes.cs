using System.Collections.Concurrent;
using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.Server;
using Hangfire.States;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Hangfire.Tests.Seams;

/// <summary>Hangfire's GlobalConfiguration, GlobalJobFilters and JobStorage.Current are per process: these probes run alone.</summary>
[CollectionDefinition(nameof(HangfireGlobalState), DisableParallelization = true)]
public sealed class HangfireGlobalState;

/// <summary>What a probe job, or a probe filter on the worker thread, saw.</summary>
public sealed record Snapshot(string Key, string Where, string? RequestId, string? TraceId, string? ActivityId, string? ParentSpanId, string? ActivitySource, string? ActivityName, string? Tenant, string? Local, string? FilterLocal, string? UserId, int Thread);

/// <summary>The probe's jobs.</summary>
public sealed class ProbeJobs(ILogger<ProbeJobs> logger, IBackgroundJobClient jobs)
{
    public static readonly ContextVar<string?> Tenant = new("ProbeTenant", null);
    public static readonly AsyncLocal<string?> Local = new();
    public static readonly AsyncLocal<string?> FilterLocal = new();
    public static readonly ConcurrentQueue<Snapshot> Seen = new();
    public static readonly ConcurrentDictionary<string, string> JobIds = new();

    public static Snapshot Now(string key, string where)
    {
        var activity = Activity.Current;
        return new Snapshot(
            key, where, RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId, activity?.Id, activity?.ParentSpanId.ToHexString(),
            activity?.Source.Name, activity?.DisplayName, Tenant.Get(), Local.Value, FilterLocal.Value, RequestContext.User.Get().Id, Environment.CurrentManagedThreadId);
    }

    public void Record(string key)
    {
        logger.LogInformation("probe job {Key}", key);
        Seen.Enqueue(Now(key, "job"));
        Tenant.Set("left-by-" + key);
        Local.Value = "left-by-" + key;
    }

    public static void RecordStatic(string key) => Seen.Enqueue(Now(key, "job"));

    public async Task RecordAsync(string key)
    {
        await Task.Yield();
        Seen.Enqueue(Now(key, "job"));
        Tenant.Set("left-by-" + key);
    }

    [AutomaticRetry(Attempts = 0)]
    public void Throw(string key)
    {
        Seen.Enqueue(Now(key, "job"));
        Tenant.Set("left-by-" + key);
        Local.Value = "left-by-" + key;
        throw new InvalidOperationException("probe failure " + key);
    }

    [AutomaticRetry(Attempts = 0)]
    public async Task ThrowAsync(string key)
    {
        await Task.Yield();
        Seen.Enqueue(Now(key, "job"));
        Tenant.Set("left-by-" + key);
        throw new InvalidOperationException("probe failure " + key);
    }

    /// <summary>Waits for its cancellation (the job deleted while it runs).</summary>
    [AutomaticRetry(Attempts = 0)]
    public void WaitForCancel(string key, IJobCancellationToken token, PerformContext context)
    {
        JobIds[key] = context.BackgroundJob.Id;
        Seen.Enqueue(Now(key, "job"));
        Tenant.Set("left-by-" + key);
        Local.Value = "left-by-" + key;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            token.ThrowIfCancellationRequested();
            Thread.Sleep(50);
        }
    }

    /// <summary>Creates a job from inside a job.</summary>
    public void Nested(string key)
    {
        Seen.Enqueue(Now(key, "job"));
        jobs.Enqueue<ProbeJobs>(job => job.Record(key + "-child"));
    }
}

/// <summary>
/// Runs before the request context's filter (order -20000) and sees the worker thread as it is before the job's context
/// is made current (OnPerforming) and after it is left (OnPerformed): both must be the worker's own, empty, state.
/// </summary>
public sealed class OuterProbeFilter : IServerFilter
{
    public void OnPerforming(PerformingContext context) => ProbeJobs.Seen.Enqueue(ProbeJobs.Now(KeyOf(context), "outer-before"));

    public void OnPerformed(PerformedContext context) => ProbeJobs.Seen.Enqueue(ProbeJobs.Now(KeyOf(context), "outer-after"));

    internal static string KeyOf(PerformContext context) => (context.BackgroundJob.Job?.Args is { Count: > 0 } args ? args[0] as string : null) ?? "?";
}

/// <summary>An app filter that misbehaves for some jobs: cancels in OnPerforming, throws in OnPerforming or OnPerformed.</summary>
public sealed class MisbehavingFilter : IServerFilter
{
    public void OnPerforming(PerformingContext context)
    {
        var key = OuterProbeFilter.KeyOf(context);
        ProbeJobs.Seen.Enqueue(ProbeJobs.Now(key, "inner-before"));
        ProbeJobs.FilterLocal.Value = "left-by-filter-" + key;
        if (key.StartsWith("cancelf", StringComparison.Ordinal))
        {
            context.Canceled = true;
        }
        else if (key.StartsWith("throwf", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("filter OnPerforming " + key);
        }
    }

    public void OnPerformed(PerformedContext context)
    {
        var key = OuterProbeFilter.KeyOf(context);
        if (key.StartsWith("throwp", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("filter OnPerformed " + key);
        }
    }
}

/// <summary>One app over Kestrel with a one-worker Hangfire server (a schema of its own) and the probe filters.</summary>
public sealed class ProbeApp : IAsyncLifetime
{
    private readonly OuterProbeFilter _outer = new();
    private readonly MisbehavingFilter _misbehaving = new();

    public string Schema { get; } = $"hangfire_probe_{Guid.NewGuid():N}";

    public TestApp App { get; private set; } = null!;

    public JobStorage Storage => App.App.Services.GetRequiredService<JobStorage>();

    public async Task InitializeAsync()
    {
        await Postgres.EnsureAvailableAsync();
        GlobalJobFilters.Filters.Add(_outer, -20_000);
        GlobalJobFilters.Filters.Add(_misbehaving, 0);
        App = await TestApp.StartAsync(
            app =>
            {
                app.UseAuthentication();
                app.UseRequestContext();
                app.MapPost("/enqueue/{kind}/{key}", (string kind, string key, IBackgroundJobClient jobs, IRecurringJobManager recurring) =>
                {
                    ProbeJobs.Tenant.Set("tenant-" + key);
                    var id = kind switch
                    {
                        "record" => jobs.Enqueue<ProbeJobs>(job => job.Record(key)),
                        "async" => jobs.Enqueue<ProbeJobs>(job => job.RecordAsync(key)),
                        "throw" => jobs.Enqueue<ProbeJobs>(job => job.Throw(key)),
                        "throwasync" => jobs.Enqueue<ProbeJobs>(job => job.ThrowAsync(key)),
                        "cancel" => jobs.Enqueue<ProbeJobs>(job => job.WaitForCancel(key, JobCancellationToken.Null, null!)),
                        "nested" => jobs.Enqueue<ProbeJobs>(job => job.Nested(key)),
                        "continuation" => jobs.ContinueJobWith<ProbeJobs>(jobs.Enqueue<ProbeJobs>(job => job.Record(key + "-first")), job => job.Record(key)),
                        "trigger" => Trigger(recurring, key),
                        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
                    };
                    return Results.Ok(new { id, span = Activity.Current!.SpanId.ToHexString() });
                });
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                builder.Services.Configure<RequestContextOptions>(options =>
                {
                    options.MessageUserIdHeader = "x-user-id";
                    options.Baggage.Add(ProbeJobs.Tenant, "tenant");
                });
                builder.Services.AddHangfire((provider, configuration) => configuration
                    .UseRecommendedSerializerSettings()
                    .UsePostgreSqlStorage(
                        options => options.UseNpgsqlConnection(Postgres.ConnectionString),
                        new PostgreSqlStorageOptions { SchemaName = Schema, QueuePollInterval = TimeSpan.FromMilliseconds(100), PrepareSchemaIfNecessary = true })
                    .UseRequestContext(provider));
                builder.Services.AddHangfireServer(options =>
                {
                    options.WorkerCount = 1;
                    options.SchedulePollingInterval = TimeSpan.FromMilliseconds(300);
                    options.CancellationCheckInterval = TimeSpan.FromMilliseconds(200);
                });
            },
            kestrel: true);
    }

    private static string Trigger(IRecurringJobManager recurring, string key)
    {
        recurring.AddOrUpdate<ProbeJobs>("probe-" + key, job => job.Record(key), Cron.Never());
        recurring.Trigger("probe-" + key);
        return "probe-" + key;
    }

    public async Task<(string Id, string Span)> PostAsync(string path, string requestId)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("X-Request-ID", requestId);
        var response = await App.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (json.GetProperty("id").GetString()!, json.GetProperty("span").GetString()!);
    }

    public async Task DisposeAsync()
    {
        GlobalJobFilters.Filters.Remove(_outer);
        GlobalJobFilters.Filters.Remove(_misbehaving);
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        await Postgres.DropSchemaAsync(Schema);
    }
}

/// <summary>Review probes (hostile maintainer) for ContextMiddleware.Hangfire: each fails when the defect it names exists.</summary>
[Collection(nameof(HangfireGlobalState))]
public sealed class ReviewProbes(ProbeApp fixture) : IClassFixture<ProbeApp>
{
    private static List<Snapshot> Of(string key, string where) => [.. ProbeJobs.Seen.Where(s => s.Key == key && s.Where == where)];

    private static Task WaitForAsync(string key, string where, int count = 1, int seconds = 30) =>
        Wait.UntilAsync(() => Of(key, where).Count >= count, seconds, $"{where} of {key}");

    private string? StateOf(string id)
    {
        using var connection = fixture.Storage.GetConnection();
        return connection.GetStateData(id)?.Name;
    }

    /// <summary>The worker thread before the context filter and after it: never a job's request id, trace, variable or AsyncLocal.</summary>
    private static void AssertWorkerClean(string key)
    {
        foreach (var snapshot in Of(key, "outer-before").Concat(Of(key, "outer-after")))
        {
            Assert.True(
                snapshot.RequestId is null && snapshot.ActivityId is null && snapshot.Tenant is null && snapshot.Local is null && snapshot.FilterLocal is null && snapshot.TraceId is null,
                $"worker thread not clean {snapshot.Where} job {key}: {snapshot}");
        }
    }

    [Theory]
    [InlineData("record", "leak-record")]
    [InlineData("async", "leak-async")]
    [InlineData("throw", "leak-throw")]
    [InlineData("throwasync", "leak-throwasync")]
    [InlineData("record", "cancelf-leak")]
    [InlineData("record", "throwf-leak")]
    [InlineData("record", "throwp-leak")]
    public async Task WorkerThread_IsRestored_OnEveryPath(string kind, string key)
    {
        await fixture.PostAsync($"/enqueue/{kind}/{key}", "req-" + key);
        await WaitForAsync(key, "outer-after");

        AssertWorkerClean(key);

        // The next job on the same (only) worker, created outside a request: fresh ids, nothing left behind.
        var next = "next-" + key;
        fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<ProbeJobs>(job => job.Record(next));
        await WaitForAsync(next, "job");
        var seen = Assert.Single(Of(next, "job"));
        Assert.NotEqual("req-" + key, seen.RequestId);
        Assert.Null(seen.Tenant);
        Assert.Null(seen.Local);
        AssertWorkerClean(next);

        // Inside the job (when it ran): the request's id and the request's baggage.
        foreach (var job in Of(key, "job"))
        {
            Assert.Equal(("req-" + key, "tenant-" + key), (job.RequestId, job.Tenant));
        }

        // The app's filters run inside the job's context.
        Assert.All(Of(key, "inner-before"), s => Assert.Equal("req-" + key, s.RequestId));
    }

    [Fact]
    public async Task WorkerThread_IsRestored_WhenTheJobIsCancelledThroughItsToken()
    {
        const string key = "tokencancel";
        await fixture.PostAsync($"/enqueue/cancel/{key}", "req-" + key);
        await WaitForAsync(key, "job");
        new BackgroundJobClient(fixture.Storage).Delete(ProbeJobs.JobIds[key]);
        await WaitForAsync(key, "outer-after");

        AssertWorkerClean(key);
        fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<ProbeJobs>(job => job.Record("next-" + key));
        await WaitForAsync("next-" + key, "job");
        var seen = Assert.Single(Of("next-" + key, "job"));
        Assert.NotEqual("req-" + key, seen.RequestId);
        Assert.Null(seen.Tenant);
        Assert.Null(seen.Local);

        // A cancellation (the job deleted) is not a failure of the job.
        Assert.DoesNotContain(fixture.App.Logs.Records, r => r.EventId.Name == "JobFailed" && r.RequestId == "req-" + key);
    }

    [Fact]
    public async Task JobsCreatedInsideAJob_AndContinuations_CarryTheRequestsIds_ChildOfTheJobsSpan()
    {
        var (_, span) = await fixture.PostAsync("/enqueue/nested/nest", "req-nest");
        await WaitForAsync("nest-child", "job");
        var parent = Assert.Single(Of("nest", "job"));
        var child = Assert.Single(Of("nest-child", "job"));
        Assert.Equal(span, parent.ParentSpanId);
        Assert.Equal("req-nest", child.RequestId);
        Assert.Equal(parent.TraceId, child.TraceId);
        Assert.Equal(parent.ActivityId!.Split('-')[2], child.ParentSpanId);

        await fixture.PostAsync("/enqueue/continuation/cont", "req-cont");
        await WaitForAsync("cont", "job");
        Assert.Equal("req-cont", Assert.Single(Of("cont", "job")).RequestId);
        Assert.Equal("req-cont", Assert.Single(Of("cont-first", "job")).RequestId);
    }

    [Fact]
    public async Task TheJobsActivity_IsAConsumerSpanNamedPerform_ChildOfTheRequestsSpan()
    {
        using var activities = new StoppedActivities();
        var stopped = activities.Stopped;
        var (_, span) = await fixture.PostAsync("/enqueue/throw/span-throw", "req-span");
        await WaitForAsync("span-throw", "outer-after");
        await Wait.UntilAsync(() => stopped.Any(a => a.DisplayName == "perform ProbeJobs.Throw"), seconds: 10);
        var activity = stopped.First(a => a.DisplayName == "perform ProbeJobs.Throw");
        Assert.Equal(ActivityKind.Consumer, activity.Kind);
        Assert.Equal(span, activity.ParentSpanId.ToHexString());
        Assert.Equal(ActivityStatusCode.Error, activity.Status);
    }

    /// <summary>
    /// The review found the doc's "each run gets fresh ids" false for a run triggered inside a request; the doc now
    /// says such a run is that request's work and carries its ids (a scheduled run is created by the scheduler, outside
    /// any request).
    /// </summary>
    [Fact]
    public async Task ARecurringJobsRun_TriggeredFromARequest_CarriesThatRequestsIds()
    {
        await fixture.PostAsync("/enqueue/trigger/recurring", "req-recurring");
        await WaitForAsync("recurring", "job");
        Assert.Equal("req-recurring", Assert.Single(Of("recurring", "job")).RequestId);
    }

    public static TheoryData<string, string> TamperedParameters => new()
    {
        { "tamper-invalidjson", "{not json" },
        { "tamper-array", "[\"X-Request-ID\",\"evil\"]" },
        { "tamper-string", "\"just a string\"" },
        { "tamper-nested", "{\"X-Request-ID\":{\"a\":\"NESTEDMARK\"}}" },
        { "tamper-list", "{\"X-Request-ID\":[\"LISTMARK\",\"b\"]}" },
        { "tamper-number", "{\"X-Request-ID\":12345}" },
        { "tamper-null", "{\"X-Request-ID\":null,\"traceparent\":null}" },
        { "tamper-jsonnull", "null" },
        { "tamper-crlf", "{\"X-Request-ID\":\"CRLFMARK\\r\\nforged: yes\",\"traceparent\":\"00-zz\\r\\n\",\"baggage\":\"tenant=CRLFTENANT\\r\\n\",\"x-user-id\":\"CRLFUSER%0D%0Ax\"}" },
        { "tamper-huge", "{\"X-Request-ID\":\"" + new string('A', 200_000) + "HUGEMARK\",\"baggage\":\"tenant=" + new string('B', 200_000) + "\"}" },
        { "tamper-unicode", "{\"X-Request-ID\":\"ÜMARK\\u2028x\",\"x-user-id\":\"\\u0000\"}" },
        { "tamper-dupcase", "{\"X-Request-ID\":\"DUPMARK\",\"x-request-id\":\"DUPMARK2\"}" },
        { "tamper-dupcase-trace", "{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\",\"Traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}" },
    };

    /// <summary>A job parameter changed in storage: the job runs (fresh ids), nothing hostile is believed or echoed.</summary>
    [Theory]
    [MemberData(nameof(TamperedParameters))]
    public async Task ATamperedParameter_TheJobStillRuns_WithFreshIds_NothingEchoed(string key, string json)
    {
        var client = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        var id = client.Create(Job.FromExpression<ProbeJobs>(job => job.Record(key)), new ScheduledState(TimeSpan.FromDays(1)));
        using (var connection = fixture.Storage.GetConnection())
        {
            connection.SetJobParameter(id, "RequestContext", json);
        }

        client.Requeue(id);
        try
        {
            await WaitForAsync(key, "job", seconds: 15);
        }
        catch (TimeoutException)
        {
            var history = fixture.Storage.GetMonitoringApi().JobDetails(id).History
                .Where(h => h.StateName == FailedState.StateName).Select(h => h.Data.TryGetValue("ExceptionType", out var type) ? $"{type}: {(h.Data.TryGetValue("ExceptionMessage", out var m) ? m : "")}" : "?");
            Assert.Fail($"The job with a tampered parameter never ran; its state: {StateOf(id)}; failures: {string.Join(" | ", history)}");
        }

        var seen = Assert.Single(Of(key, "job"));
        Assert.False(string.IsNullOrEmpty(seen.RequestId));
        Assert.DoesNotContain("MARK", seen.RequestId!, StringComparison.Ordinal);
        Assert.Null(seen.Tenant);
        Assert.Null(seen.UserId);
        var markers = new[] { "NESTEDMARK", "LISTMARK", "CRLFMARK", "CRLFTENANT", "CRLFUSER", "HUGEMARK", "ÜMARK", "DUPMARK", "forged" };
        Assert.DoesNotContain(fixture.App.Logs.Records, r => markers.Any(m => r.AllText.Contains(m, StringComparison.Ordinal)));
        await Wait.UntilAsync(() => StateOf(id) == SucceededState.StateName, seconds: 10, what: "the job succeeded");
    }

    [Fact]
    public async Task AClientWithoutTheFilter_AServerWithIt_FreshIds_AndAServerWithoutIt_NoCrash()
    {
        // A client without the filter, inside a request-like flow.
        var bare = new BackgroundJobClient(fixture.Storage, new global::Hangfire.Client.BackgroundJobFactory(new JobFilterCollection()), new BackgroundJobStateChanger());
        var context = new Context();
        context.Run(() => RequestContext.RequestId.Set("client-without-filter"));
        context.Run(() => bare.Enqueue<ProbeJobs>(job => job.Record("nofilter-client")));
        await WaitForAsync("nofilter-client", "job");
        var seen = Assert.Single(Of("nofilter-client", "job"));
        Assert.NotEqual("client-without-filter", seen.RequestId);
        Assert.False(string.IsNullOrEmpty(seen.RequestId));

        // A server without the filter (its own queue): the parameter the client wrote is ignored, the job runs.
        using var server = new BackgroundJobServer(
            new BackgroundJobServerOptions { WorkerCount = 1, Queues = ["nofilter"], FilterProvider = new JobFilterCollection(), SchedulePollingInterval = TimeSpan.FromMilliseconds(300) },
            fixture.Storage);
        var client = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        context.Run(() => client.Create(Job.FromExpression(() => ProbeJobs.RecordStatic("nofilter-server")), new EnqueuedState("nofilter")));
        await WaitForAsync("nofilter-server", "job");
        Assert.Null(Assert.Single(Of("nofilter-server", "job")).RequestId);
    }

    [Fact]
    public void UseRequestContextTwice_OneFilter()
    {
        GlobalConfiguration.Configuration.UseRequestContext(fixture.App.App.Services);
        GlobalConfiguration.Configuration.UseRequestContext(fixture.App.App.Services);
        Assert.Single(GlobalJobFilters.Filters, f => f.Instance.GetType().Name == "RequestContextJobFilter");
    }

    /// <summary>A failing job: Hangfire logs the exception; the suite adds one JobFailed without it; nothing else logs it.</summary>
    [Fact]
    public async Task AFailingJob_TheExceptionIsLoggedOnce()
    {
        await fixture.PostAsync("/enqueue/throw/once-throw", "req-once");
        await WaitForAsync("once-throw", "outer-after");
        await Task.Delay(1000);
        var withException = fixture.App.Logs.Records.Where(r => r.Exception?.ToString().Contains("probe failure once-throw", StringComparison.Ordinal) == true).ToList();
        Assert.Single(withException);
        Assert.Single(fixture.App.Logs.Records, r => r.EventId.Name == "JobFailed" && r.RequestId == "req-once");
    }
}
