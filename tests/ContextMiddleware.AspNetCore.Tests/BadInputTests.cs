using System.Net.Sockets;
using System.Text;
using ContextMiddleware.Testing;
using Microsoft.Extensions.Primitives;

namespace ContextMiddleware.AspNetCore.Tests;

/// <summary>
/// Malicious and malformed header values: never a 500, never the raw value in a response header or a log line, and
/// always the documented outcome (a fresh id, the value kept as ClientRequestId only when safe, or a 401 for a bad
/// Authorization header).
/// </summary>
public class BadInputTests
{
    // Each value carries the marker "ZQX" (except where too short to), so a leak is easy to find.
    public static readonly TheoryData<string, string> Values = new()
    {
        { "crlf-injection", "ZQX\r\nSet-Cookie: stolen=1" },
        { "lf-only", "ZQX\nX-Injected: 1" },
        { "cr-only", "ZQX\rX-Injected: 1" },
        { "nul", "ZQX\0tail" },
        { "bell", "ZQX\atail" },
        { "backspace", "ZQX\btail" },
        { "escape-ansi", "ZQX\u001b[31mred" },
        { "delete", "ZQX\u007ftail" },
        { "tab", "ZQX\ttail" },
        { "vertical-tab", "ZQX\vtail" },
        { "form-feed", "ZQX\ftail" },
        { "unit-separator", "ZQX\u001ftail" },
        { "latin1", "ZQXcafé" },
        { "cjk", "ZQX请求" },
        { "emoji", "ZQX😀" },
        { "rtl-override", "ZQX\u202Egnp.exe" },
        { "zero-width", "ZQX\u200Btail" },
        { "bom", "\uFEFFZQX" },
        { "lone-surrogate", "ZQX\uD800" },
        { "nbsp", "ZQX\u00A0tail" },
        { "8kb", "ZQX" + new string('a', 8 * 1024) },
        { "129-chars", "ZQX" + new string('b', 126) },
        { "64kb", "ZQX" + new string('c', 64 * 1024) },
        { "empty", "" },
        { "space", " " },
        { "spaces", "     " },
        { "leading-space", " ZQXlead" },
        { "trailing-space", "ZQXtrail " },
        { "inner-space", "ZQX inner" },
        { "html", "<script>ZQX</script>" },
        { "json-break", "ZQX\",\"admin\":true" },
        { "single-quote", "ZQX'--" },
        { "backslash", "ZQX\\n" },
        { "backtick", "ZQX`id`" },
        { "log-template", "{ZQX}" },
        { "format-string", "ZQX%s%n%x" },
        { "path-traversal-ish", "ZQX../../etc/passwd%00" },
        { "comma-list", "ZQX,second" },
        { "semicolon", "ZQX;second" },
        { "url-encoded-crlf", "ZQX%0d%0aSet-Cookie:x" },
        { "percent-only", "%%%ZQX" },
        { "unicode-digits", "ZQX١٢٣" },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public async Task RequestIdHeaders_BadValue_GetAFreshIdAndNeverLeak(string name, string value)
    {
        await using var app = await StartAsync();

        foreach (var header in new[] { "X-Request-ID", "X-Correlation-ID" })
        {
            var context = await app.Server.SendAsync(http =>
            {
                http.Request.Path = "/echo";
                http.Request.Headers[header] = value;
            });

            var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
            Assert.True(context.Response.StatusCode == 200, $"{name} in {header}: status {context.Response.StatusCode}");
            var echoed = context.Response.Headers["X-Request-ID"].ToString();
            Assert.Matches(RequestIdTests.GeneratedId(), echoed);
            AssertNoLeak(app, value, name);

            // The documented outcome: kept as ClientRequestId only when it is safe visible ASCII of valid length.
            var expectedClientId = IsSafe(value) ? value : null;
            Assert.Equal(expectedClientId ?? "(none)", body.Split('|')[1]);
        }
    }

    [Fact]
    public async Task RequestIdHeader_SentTwice_GetsAFreshId()
    {
        await using var app = await StartAsync();

        var context = await app.Server.SendAsync(http =>
        {
            http.Request.Path = "/echo";
            http.Request.Headers["X-Request-ID"] = new StringValues(["ZQXfirst", "ZQXsecond"]);
        });

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Matches(RequestIdTests.GeneratedId(), context.Response.Headers["X-Request-ID"].ToString());
        AssertNoLeak(app, "ZQXfirst", "twice");
        Assert.Contains(app.Logs.Records, record => record.Message.Contains("more than once", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Values))]
    public async Task AuthorizationHeader_BadValue_IsUnauthorizedNeverA500(string name, string value)
    {
        await using var app = await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.UseAuthentication();
                app.UseAuthorization();
                app.MapGet("/secure", (ICurrentUser user) => user.Id).RequireAuthorization();
            },
            builder =>
            {
                Jwt.AddJwtBearer(builder);
                builder.Services.AddAuthorization();
            });

        foreach (var authorization in new[] { value, "Bearer " + value })
        {
            var context = await app.Server.SendAsync(http =>
            {
                http.Request.Path = "/secure";
                http.Request.Headers.Authorization = authorization;
            });

            Assert.True(context.Response.StatusCode == 401, $"{name}: status {context.Response.StatusCode}");
            Assert.Matches(RequestIdTests.GeneratedId(), context.Response.Headers["X-Request-ID"].ToString());
        }

        AssertNoLeak(app, value, name);
    }

    [Theory]
    [InlineData("ZQX\rinjected")]
    [InlineData("ZQX\0nul")]
    [InlineData("ZQX\u00e9latin1")]
    [InlineData("ZQX\u001b[31m")]
    public async Task Kestrel_ControlOrNonAsciiBytesOnTheWire_AreRejectedBeforeTheAppNeverA500(string value)
    {
        await using var app = await StartAsync(kestrel: true);

        var status = await RawHttp.SendAsync(app.BaseAddress, $"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: {value}\r\nConnection: close\r\n\r\n");

        Assert.True(status is "400" or "200", $"status {status}");
        AssertNoLeak(app, value, "raw");
    }

    [Fact]
    public async Task Kestrel_OversizedHeader_Is431NeverA500()
    {
        await using var app = await StartAsync(kestrel: true);

        var status = await RawHttp.SendAsync(app.BaseAddress, $"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: ZQX{new string('a', 40_000)}\r\nConnection: close\r\n\r\n");

        Assert.True(status is "431" or "400", $"status {status}");
    }

    internal static async Task<TestApp> StartAsync(bool kestrel = false) =>
        await TestApp.StartAsync(
            app =>
            {
                app.UseRequestContext();
                app.MapGet("/echo", () => $"{RequestContext.RequestId.Get()}|{RequestContext.ClientRequestId.Get() ?? "(none)"}");
            },
            builder => builder.Services.AddRequestContext(options =>
            {
                options.RequestIdHeaders.Add("X-Request-ID");
                options.RequestIdHeaders.Add("X-Correlation-ID");
            }),
            kestrel);

    private static bool IsSafe(string value) =>
        value.Length is > 0 and <= 128 && value.All(c => c is >= '!' and <= '~' && c is not ('"' or '\'' or '\\' or '<' or '>' or '`'));

    private static void AssertNoLeak(TestApp app, string value, string name)
    {
        if (value.Length < 3)
        {
            return;
        }

        foreach (var record in app.Logs.Records)
        {
            Assert.False(record.AllText.Contains(value, StringComparison.Ordinal), $"{name}: leaked into log '{record.Message}'");
        }
    }
}
