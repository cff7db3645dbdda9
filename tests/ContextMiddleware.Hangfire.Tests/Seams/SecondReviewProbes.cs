using System.Diagnostics;
using ContextMiddleware.AspNetCore;
using ContextMiddleware.Testing;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.Hangfire.Tests.Seams;

/// <summary>Jobs of the second review's probes.</summary>
public static class SecondProbeJobs
{
    /// <summary>Waits on a CancellationToken parameter (Hangfire cancels it when the job is deleted or the server stops).</summary>
    [AutomaticRetry(Attempts = 0)]
    public static void WaitForToken(string key, CancellationToken token)
    {
        ProbeJobs.Seen.Enqueue(ProbeJobs.Now(key, "job"));
        Task.Delay(TimeSpan.FromSeconds(30), token).GetAwaiter().GetResult();
    }

    [AutomaticRetry(Attempts = 0)]
    public static void Throw(string key)
    {
        ProbeJobs.Seen.Enqueue(ProbeJobs.Now(key, "job"));
        throw new FormatException("second probe failure " + key);
    }
}

/// <summary>
/// Second review probes (hostile maintainer) for ContextMiddleware.Hangfire: each fails when the defect, or the false doc
/// sentence, it names exists. In the non-parallel HangfireGlobalState collection (never beside HangfireTests), with an
/// app and schema of their own (a ProbeApp instance of this class: hangfire_probe_{guid}).
/// </summary>
[Collection(nameof(HangfireGlobalState))]
public sealed class SecondReviewProbes(ProbeApp fixture) : IClassFixture<ProbeApp>
{
    private static List<Snapshot> Of(string key, string where) => [.. ProbeJobs.Seen.Where(s => s.Key == key && s.Where == where)];

    private static Task WaitForAsync(string key, string where, int count = 1, int seconds = 30) =>
        Wait.UntilAsync(() => Of(key, where).Count >= count, seconds, $"{where} of {key}");

    private string? StateOf(string id)
    {
        using var connection = fixture.Storage.GetConnection();
        return connection.GetStateData(id)?.Name;
    }

    private string? ParameterOf(string id)
    {
        using var connection = fixture.Storage.GetConnection();
        return connection.GetJobParameter(id, "RequestContext");
    }

    private async Task<string> RunWithParameterAsync(string key, string json)
    {
        var client = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        var id = client.Create(Job.FromExpression<ProbeJobs>(job => job.Record(key)), new ScheduledState(TimeSpan.FromDays(1)));
        using (var connection = fixture.Storage.GetConnection())
        {
            connection.SetJobParameter(id, "RequestContext", json);
        }

        client.Requeue(id);
        await WaitForAsync(key, "job", seconds: 15);
        return id;
    }

    /// <summary>
    /// The doc: a readable parameter "is read with the rules of every message"; over HTTP (and in a RabbitMQ message, by
    /// the getter) a repeated X-Request-ID is refused. A JSON object naming X-Request-ID twice, exactly, is collapsed
    /// by the deserializer to its last value, which is believed.
    /// </summary>
    [Fact]
    public async Task AParameterNamingTheRequestIdTwice_IsRefusedAsARepeatedHeader()
    {
        const string key = "second-dupexact";
        await RunWithParameterAsync(key, "{\"X-Request-ID\":\"first-of-two\",\"X-Request-ID\":\"second-of-two\"}");
        var seen = Assert.Single(Of(key, "job"));
        Assert.False(string.IsNullOrEmpty(seen.RequestId));
        Assert.NotEqual("second-of-two", seen.RequestId);
        Assert.NotEqual("first-of-two", seen.RequestId);
    }

    /// <summary>Names differing in case: one repeated header, in the stored order; a null value is absent, not a value.</summary>
    [Fact]
    public async Task AParameterWithCaseVariantsOrNulls_FollowsTheHeaderRules()
    {
        await RunWithParameterAsync("second-case", "{\"x-request-id\":\"case-a\",\"X-REQUEST-ID\":\"case-b\"}");
        Assert.DoesNotContain(Assert.Single(Of("second-case", "job")).RequestId, new[] { "case-a", "case-b", null, "" });

        await RunWithParameterAsync("second-null", "{\"X-Request-ID\":null,\"x-request-id\":\"after-null\"}");
        Assert.Equal("after-null", Assert.Single(Of("second-null", "job")).RequestId);

        await RunWithParameterAsync("second-empty", "{}");
        Assert.False(string.IsNullOrEmpty(Assert.Single(Of("second-empty", "job")).RequestId));
    }

    /// <summary>
    /// "Creating a job ... stores the creating flow's context as one job parameter, RequestContext (the headers of the
    /// table above, as JSON ...). Outside a request nothing is stored when there is no context."
    /// </summary>
    [Fact]
    public async Task Doc_TheParameter_IsTheHeadersAsJson_AndNothingOutsideAContext()
    {
        var (id, span) = await fixture.PostAsync("/enqueue/record/second-param", "req-second-param");
        var json = ParameterOf(id);
        Assert.NotNull(json);
        var stored = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(json!)!;
        Assert.Equal("req-second-param", stored["X-Request-ID"]);
        Assert.Contains(span, stored["traceparent"], StringComparison.Ordinal);
        Assert.Contains("tenant=tenant-second-param", stored["baggage"], StringComparison.Ordinal);
        await WaitForAsync("second-param", "job");

        var client = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        var previous = Activity.Current;
        Activity.Current = null;
        string outside;
        try
        {
            outside = new Context().Run(() => client.Enqueue<ProbeJobs>(job => job.Record("second-outside")));
        }
        finally
        {
            Activity.Current = previous;
        }

        Assert.Null(ParameterOf(outside));
        await WaitForAsync("second-outside", "job");
        Assert.False(string.IsNullOrEmpty(Assert.Single(Of("second-outside", "job")).RequestId));
    }

    /// <summary>
    /// "A job deleted while it ran ... is not a failure and gets no such record": with a CancellationToken parameter
    /// (Hangfire 1.8 cancels it on deletion), not only with IJobCancellationToken.
    /// </summary>
    [Fact]
    public async Task Doc_AJobWithACancellationTokenDeletedWhileItRan_GetsNoJobFailed()
    {
        var client = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        var id = new Context().Run(() =>
        {
            RequestContext.RequestId.Set("req-second-token");
            return client.Enqueue(() => SecondProbeJobs.WaitForToken("second-token", CancellationToken.None));
        });
        await WaitForAsync("second-token", "job");
        Assert.Equal("req-second-token", Assert.Single(Of("second-token", "job")).RequestId);
        client.Delete(id);
        await Wait.UntilAsync(() => StateOf(id) == DeletedState.StateName, seconds: 15);
        await Task.Delay(1500); // the worker notices the deletion, the job's token is cancelled, OnPerformed runs

        Assert.DoesNotContain(fixture.App.Logs.Records, r => r.EventId.Name == "JobFailed" && r.AllText.Contains(id, StringComparison.Ordinal));
    }

    /// <summary>
    /// "Events": JobFailed 60 Warning inside the job's context, naming the job id, its method and the exception's type,
    /// not the exception again; UnreadableJobContext 61 Warning with the exception's type, never the value.
    /// </summary>
    [Fact]
    public async Task Doc_Events_JobFailedAndUnreadableJobContext_HaveTheDocumentedIdsLevelsAndContents()
    {
        var client = fixture.App.App.Services.GetRequiredService<IBackgroundJobClient>();
        var id = new Context().Run(() =>
        {
            RequestContext.RequestId.Set("req-second-fail");
            return client.Enqueue(() => SecondProbeJobs.Throw("second-fail"));
        });
        await Wait.UntilAsync(() => fixture.App.Logs.Records.Any(r => r.EventId.Name == "JobFailed" && r.AllText.Contains(id, StringComparison.Ordinal)), seconds: 30);
        var failed = Assert.Single(fixture.App.Logs.Records, r => r.EventId.Name == "JobFailed" && r.AllText.Contains(id, StringComparison.Ordinal));
        Assert.Equal((60, LogLevel.Warning, "req-second-fail"), (failed.EventId.Id, failed.Level, failed.RequestId));
        Assert.Null(failed.Exception);
        Assert.Contains("SecondProbeJobs.Throw", failed.Message, StringComparison.Ordinal);
        Assert.Contains("System.FormatException", failed.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("second probe failure", failed.AllText, StringComparison.Ordinal);

        var unreadable = await RunWithParameterAsync("second-unreadable", "{\"X-Request-ID\":{\"SECRETNESTED\":1}}");
        var record = Assert.Single(fixture.App.Logs.Records, r => r.EventId.Name == "UnreadableJobContext" && r.AllText.Contains(unreadable, StringComparison.Ordinal));
        Assert.Equal((61, LogLevel.Warning), (record.EventId.Id, record.Level));
        Assert.DoesNotContain("SECRETNESTED", record.AllText, StringComparison.Ordinal);
    }
}
