using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Hangfire.Tests;

/// <summary>What one job attempt ran with.</summary>
public sealed record Attempt(string Key, string? RequestId, string? TraceId, string? ParentSpanId, string? UserId, bool UserAuthenticated, string? Tenant, int ManagedThreadId);

/// <summary>The app's jobs: they record the context they run in.</summary>
public sealed class Jobs(ILogger<Jobs> logger)
{
    public static readonly ContextVar<string?> Tenant = new("Tenant", null);
    public static readonly ConcurrentQueue<Attempt> Attempts = new();

    public async Task Record(string key)
    {
        await Task.Yield(); // an async job: the context flows across the await
        logger.LogInformation("job {Key}", key);
        Attempts.Enqueue(Now(key));
    }

    [AutomaticRetry(Attempts = 1, DelaysInSeconds = [1])]
    public void FailOnce(string key)
    {
        var first = !Attempts.Any(attempt => attempt.Key == key);
        Attempts.Enqueue(Now(key));
        if (first)
        {
            throw new InvalidOperationException("the first attempt fails");
        }
    }

    /// <summary>Sets a variable and leaves it set: the next job on the same worker must not see it.</summary>
    public void Leave(string key)
    {
        Tenant.Set("left-behind");
        Attempts.Enqueue(Now(key));
    }

    private static Attempt Now(string key)
    {
        var user = RequestContext.User.Get();
        return new Attempt(
            key, RequestContext.RequestId.Get(), RequestContext.Trace.Get()?.TraceId, Activity.Current?.ParentSpanId.ToHexString(),
            user.Id, user.IsAuthenticated, Tenant.Get(), Environment.CurrentManagedThreadId);
    }
}

/// <summary>One app over Kestrel with a Hangfire server on PostgreSQL (a schema of its own), shared by the tests.</summary>
public sealed class HangfireApp : IAsyncLifetime
{
    public string Schema { get; } = $"hangfire_test_{Guid.NewGuid():N}";

    public TestApp App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Postgres.EnsureAvailableAsync();
        App = await TestApp.StartAsync(
            app =>
            {
                app.UseAuthentication();
                app.UseRequestContext();
                app.MapPost("/jobs/{request}/{count:int}", (string request, int count, IBackgroundJobClient jobs) =>
                {
                    Jobs.Tenant.Set($"tenant-{request}");
                    for (var i = 0; i < count; i++)
                    {
                        jobs.Enqueue<Jobs>(job => job.Record($"{request}:{i}"));
                    }

                    return Activity.Current!.SpanId.ToHexString();
                });
                app.MapPost("/failing/{key}", (string key, IBackgroundJobClient jobs) => jobs.Enqueue<Jobs>(job => job.FailOnce(key)));
                app.MapPost("/leave/{key}", (string key, IBackgroundJobClient jobs) => jobs.Enqueue<Jobs>(job => job.Leave(key)));
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                builder.Services.Configure<RequestContextOptions>(options =>
                {
                    options.MessageUserIdHeader = "x-user-id";
                    options.Baggage.Add(Jobs.Tenant, "tenant");
                });
                builder.Services.AddTransient<Jobs>();
                builder.Services.AddHangfire((provider, configuration) => configuration
                    .UseRecommendedSerializerSettings()
                    .UsePostgreSqlStorage(
                        options => options.UseNpgsqlConnection(Postgres.ConnectionString),
                        new PostgreSqlStorageOptions { SchemaName = Schema, QueuePollInterval = TimeSpan.FromMilliseconds(100), PrepareSchemaIfNecessary = true })
                    .UseRequestContext(provider));
                builder.Services.AddHangfireServer(options =>
                {
                    options.WorkerCount = 4;
                    options.SchedulePollingInterval = TimeSpan.FromMilliseconds(500);
                });
            },
            kestrel: true);
    }

    public async Task<string> PostAsync(string path, string requestId, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("X-Request-ID", requestId);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await App.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }

        await Postgres.DropSchemaAsync(Schema);
    }
}

/// <summary>Jobs created in requests run in their requests' contexts, against a real Hangfire server on PostgreSQL.</summary>
public sealed class HangfireTests(HangfireApp fixture) : IClassFixture<HangfireApp>
{
    private static List<Attempt> AttemptsOf(string prefix) => [.. Jobs.Attempts.Where(attempt => attempt.Key.StartsWith(prefix, StringComparison.Ordinal))];

    [Fact]
    public async Task TwoHundredJobs_FromConcurrentRequests_EachRunWithItsRequestsIdsTraceAndBaggage()
    {
        var spans = new ConcurrentDictionary<int, string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 50), new ParallelOptions { MaxDegreeOfParallelism = 10 }, async (id, _) =>
            spans[id] = await fixture.PostAsync($"/jobs/many{id}/4", $"many-{id}"));

        await Wait.UntilAsync(() => AttemptsOf("many").Count >= 200, seconds: 60, what: "200 jobs performed");

        var attempts = AttemptsOf("many");
        Assert.Equal(200, attempts.Count);
        var mismatches = attempts.Where(attempt =>
        {
            var id = int.Parse(attempt.Key.Split(':')[0]["many".Length..], System.Globalization.CultureInfo.InvariantCulture);
            return attempt.RequestId != $"many-{id}" || attempt.ParentSpanId != spans[id] || attempt.Tenant != $"tenant-many{id}";
        }).Select(attempt => attempt.ToString()).ToList();
        Assert.Empty(mismatches);
        Assert.Equal(50, attempts.Select(attempt => attempt.TraceId).Distinct().Count());

        // The job's own log events carry its request's ids.
        var logged = fixture.App.Logs.Records.Where(record => record.Message.StartsWith("job many", StringComparison.Ordinal)).ToList();
        Assert.Equal(200, logged.Count);
        Assert.All(logged, record => Assert.Equal($"many-{record.Message["job many".Length..].Split(':')[0]}", record.RequestId));
    }

    [Fact]
    public async Task AFailingJob_IsRetried_EachAttemptWithItsRequestsIds_AndTheFailureTiedToThem()
    {
        var jobId = await fixture.PostAsync("/failing/retry1", "retry-request");

        await Wait.UntilAsync(() => AttemptsOf("retry1").Count >= 2, seconds: 60, what: "the retry performed");

        var attempts = AttemptsOf("retry1");
        Assert.Equal(2, attempts.Count);
        Assert.All(attempts, attempt => Assert.Equal("retry-request", attempt.RequestId));
        Assert.Single(attempts.Select(attempt => attempt.TraceId).Distinct());
        var failed = Assert.Single(fixture.App.Logs.Records, record => record.EventId.Name == "JobFailed" && record.Message.Contains(jobId.Trim('"'), StringComparison.Ordinal));
        Assert.Equal("retry-request", failed.RequestId);
        Assert.Contains("InvalidOperationException", failed.Message, StringComparison.Ordinal);
        Assert.Null(failed.Exception); // Hangfire logs the exception itself: once.
    }

    [Fact]
    public async Task JobsCreatedOutsideARequest_GetFreshIds()
    {
        var jobs = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        jobs.Enqueue<Jobs>(job => job.Record("outside:1"));
        jobs.Enqueue<Jobs>(job => job.Record("outside:2"));

        await Wait.UntilAsync(() => AttemptsOf("outside").Count >= 2, seconds: 30, what: "two jobs performed");

        var attempts = AttemptsOf("outside");
        Assert.All(attempts, attempt => Assert.False(string.IsNullOrEmpty(attempt.RequestId)));
        Assert.NotEqual(attempts[0].RequestId, attempts[1].RequestId);
        Assert.NotEqual(attempts[0].TraceId, attempts[1].TraceId);
        Assert.All(attempts, attempt => Assert.Null(attempt.Tenant));
    }

    [Fact]
    public async Task TheUserIdTravels_WhenTheAppOptedIn_AsContextNotCredentials()
    {
        await fixture.PostAsync("/jobs/user/1", "user-request", Jwt.CreateToken("alice", "Alice", "admin"));
        await fixture.PostAsync("/jobs/anon/1", "anon-request");

        await Wait.UntilAsync(() => AttemptsOf("user:").Count + AttemptsOf("anon:").Count >= 2, seconds: 30, what: "two jobs performed");

        var user = Assert.Single(AttemptsOf("user:"));
        Assert.Equal(("alice", false), (user.UserId, user.UserAuthenticated));
        Assert.Null(Assert.Single(AttemptsOf("anon:")).UserId);
    }

    [Fact]
    public async Task WhatAJobSetsStaysInTheJob_TheWorkersNextJobDoesNotSeeIt()
    {
        for (var i = 0; i < 8; i++)
        {
            await fixture.PostAsync($"/leave/leave{i}", $"leave-{i}");
        }

        await fixture.PostAsync("/jobs/after/8", "after-request");
        await Wait.UntilAsync(() => AttemptsOf("after").Count >= 8 && AttemptsOf("leave").Count >= 8, seconds: 30, what: "the jobs performed");

        Assert.All(AttemptsOf("after"), attempt => Assert.Equal(("after-request", "tenant-after"), (attempt.RequestId, attempt.Tenant)));
        Assert.All(AttemptsOf("leave"), attempt => Assert.Equal("left-behind", attempt.Tenant));
    }
}
