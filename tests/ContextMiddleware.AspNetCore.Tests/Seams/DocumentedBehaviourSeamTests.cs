using System.Diagnostics;
using System.Net;
using System.Security.Claims;
using System.Xml.Linq;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Logging;

namespace ContextMiddleware.AspNetCore.Tests.Seams;

/// <summary>
/// README and XML-doc sentences, each checked as a user would see it.
/// </summary>
[Collection(ActivityListenerCollection.Name)]
public class DocumentedBehaviourSeamTests
{
    // ICurrentUser XML docs and README ("Each request's user is its own: an anonymous request's Principal is an empty
    // principal of that request alone ... a claim added to it is seen by that request alone"). The request itself must
    // keep seeing the claim it added. Reading HttpContext.User (any handler, filter or library does) makes the framework
    // create its own empty principal in the authentication feature; ICurrentUser then switches to that one, and the
    // claim the request added is gone for the request that added it.
    [Fact]
    public async Task AnonymousRequest_ClaimAddedThroughICurrentUser_IsStillSeenByThatRequest_AfterHttpContextUserIsRead()
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/claim", (HttpContext context, ICurrentUser user) =>
                {
                    ((ClaimsIdentity)user.Principal.Identity!).AddClaim(new Claim("tenant", "t-42"));
                    var before = user.FindFirstValue("tenant") ?? "null";
                    _ = context.User.Identity; // what any code of the request may do
                    var after = user.FindFirstValue("tenant") ?? "null";
                    return $"{before}|{after}|{ReferenceEquals(user.Principal, context.User)}";
                });
            },
            kestrel: true);

        var seen = await app.Client.GetStringAsync("/claim");

        Assert.True(
            seen.StartsWith("t-42|t-42", StringComparison.Ordinal),
            $"before|after reading HttpContext.User|same principal: {seen}. The claim the anonymous request added to its own principal is lost for that request.");
    }

    // README, Exceptions: "An exception after the response started is left to the server, which logs it (with the
    // ids)". README, When the context begins: the middleware begins the context only "When hosting makes no Activity (no
    // logging provider, no listener)". Here a logging provider is on (the server's category logs), and only hosting's
    // chatty category is silenced, as apps do: the server's Error record has no request id. Control: hosting logs on.
    [Theory]
    [InlineData(false)] // control: hosting's category on
    [InlineData(true)]
    public async Task ExceptionAfterTheResponseStarted_TheServersErrorRecordCarriesTheRequestId(bool hostingCategoryOff)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/late", async (HttpContext context) =>
                {
                    await context.Response.WriteAsync("partial");
                    await context.Response.Body.FlushAsync();
                    throw new InvalidOperationException("late failure");
                });
            },
            builder =>
            {
                if (hostingCategoryOff)
                {
                    builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
                }
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/late");
        request.Headers.Add("X-Request-ID", "req-late");

        try
        {
            using var response = await app.Client.SendAsync(request);
            await response.Content.ReadAsStringAsync();
        }
        catch (HttpRequestException)
        {
            // The server aborts the response: expected.
        }

        await SeamSupport.WaitUntilAsync(() => SeamSupport.ErrorsWithException(app).Count > 0);
        await Task.Delay(200);

        var errors = SeamSupport.ErrorsWithException(app);
        Assert.True(errors.Count == 1, $"{errors.Count} Error records: {SeamSupport.Describe(errors)}");

        // README ("When the context begins"): with hosting's category off the outermost middleware begins the context,
        // which ends when it returns, before the server logs: that record has no ids, as documented. If this changes,
        // the README must say so.
        var expected = hostingCategoryOff ? null : "req-late";
        Assert.True(
            errors[0].RequestId == expected,
            $"hostingCategoryOff={hostingCategoryOff}: the server's record of an exception after the response started: {SeamSupport.Describe(errors)}");
    }

    // README, Agreement: "When hosting makes no Activity (no logging provider, no listener) ... with a listener on the
    // source ContextMiddleware.AspNetCore it starts an Activity (ContextMiddleware.AspNetCore.Request)". No test names
    // that Activity.
    [Fact]
    public async Task NoLogging_ListenerOnOwnSource_StartsTheRequestActivity_ThatAgreesWithTrace()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = static source => source.Name == "ContextMiddleware.AspNetCore",
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/trace", () => $"{RequestContext.Trace.Get()?.TraceId}|{RequestContext.Trace.Get()?.SpanId}|{Activity.Current?.OperationName}");
            },
            kestrel: true,
            collectLogs: false);

        var seen = (await app.Client.GetStringAsync("/trace")).Split('|');
        await SeamSupport.WaitUntilAsync(() => { lock (stopped) { return stopped.Any(a => a.OperationName == "ContextMiddleware.AspNetCore.Request"); } });

        Activity request;
        lock (stopped)
        {
            request = stopped.Single(a => a.OperationName == "ContextMiddleware.AspNetCore.Request");
        }

        Assert.Equal("ContextMiddleware.AspNetCore.Request", seen[2]);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.Equal(request.TraceId.ToHexString(), seen[0]);
        Assert.Equal(request.SpanId.ToHexString(), seen[1]);
    }

    // README, Microsoft.Extensions.Logging: "The scope is a snapshot: a provider that keeps the event and reads its
    // scopes later ... sees that event's values, and reading it allocates nothing". The README's own example provider,
    // the JSON console, reads a scope as IEnumerable<KeyValuePair<string, object?>> with foreach. The existing test
    // reads only Count and the indexer.
    [Fact]
    public async Task RequestScope_ReadAsTheJsonConsoleReadsIt_AllocatesOneEnumeratorPerForeach_NothingPerItem()
    {
        object? captured = null;
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/scope", (IExternalScopeProvider scopes) =>
                {
                    // An anonymous request inside hosting's scope and Activity adds nothing; in a child flow without
                    // an Activity (a Task.Run that left the span) the request scope carries the trace ids.
                    captured = Task.Run(() =>
                    {
                        Activity.Current = null;
                        var box = new object?[1];
                        scopes.ForEachScope(
                            static (scope, found) =>
                            {
                                if (scope?.GetType().Name == "RequestLogScope")
                                {
                                    found[0] = scope;
                                }
                            },
                            box);
                        return box[0];
                    }).GetAwaiter().GetResult();
                    return "ok";
                });
            },
            kestrel: true);
        var request = new HttpRequestMessage(HttpMethod.Get, "/scope");
        request.Headers.Add("X-Request-ID", "req-scope");
        await app.Client.SendAsync(request);

        var scope = Assert.IsAssignableFrom<IEnumerable<KeyValuePair<string, object?>>>(captured);
        var length = 0;
        foreach (var item in scope)
        {
            length += item.Key.Length; // warm up
        }

        // README: Count and the indexer allocate nothing; a foreach allocates one 32 B enumerator, whatever the scope holds.
        var list = Assert.IsAssignableFrom<IReadOnlyList<KeyValuePair<string, object?>>>(captured);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            for (var j = 0; j < list.Count; j++)
            {
                length += list[j].Key.Length;
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            foreach (var item in scope)
            {
                length += item.Key.Length;
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(length > 0);
        Assert.True(allocated <= 1000 * 32, $"reading the request scope 1000 times with foreach (as JsonConsoleFormatter does) allocated {allocated} B");
    }

    // XML docs of RequestContextOptions.LogUnhandledExceptions: "the framework's own log of it is written after the
    // request's context has ended ... when off, the server answers and logs as usual, without the request id". The
    // suite's own tests (PipelineLoggingTests.KestrelUnhandledExceptionRecord_WithLogUnhandledExceptionsOff_CarriesTheRequestId,
    // FallbackPathSeamTests) and the README say the server's record carries the ids: the IntelliSense text is stale.
    [Fact]
    public void LogUnhandledExceptionsDocs_DoNotSayTheServersRecordLacksTheRequestId()
    {
        var xml = Path.ChangeExtension(typeof(RequestContextOptions).Assembly.Location, ".xml");
        var text = XDocument.Load(xml).Descendants("member")
            .Single(member => (string?)member.Attribute("name") == "P:ContextMiddleware.AspNetCore.RequestContextOptions.LogUnhandledExceptions")
            .Value;

        Assert.DoesNotContain("after the request's context has ended", text, StringComparison.Ordinal);
        Assert.DoesNotContain("without the request id", text, StringComparison.Ordinal);
    }
}
