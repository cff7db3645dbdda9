using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ContextMiddleware.Sample.Tests.Support;

namespace ContextMiddleware.Sample.Tests;

/// <summary>JWT bearer with the development key, the development token endpoint, and <c>GET /me</c>.</summary>
public class AuthenticationTests
{
    [Fact]
    public async Task Me_WithATokenFromTheDevEndpoint_ReturnsTheUserAndTheRequestsIds()
    {
        await using var sample = new SampleFactory();
        var client = sample.CreateClient();

        var token = await (await client.PostAsync("/dev/token?user=alice", null)).Content.ReadAsStringAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Add("X-Request-ID", "req-me");
        var response = await client.SendAsync(request);
        var me = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("alice", me.GetProperty("id").GetString());
        Assert.Equal("Alice", me.GetProperty("name").GetString());
        Assert.True(me.GetProperty("isCustomer").GetBoolean());
        Assert.Equal("req-me", me.GetProperty("requestId").GetString());
        Assert.Matches("^[0-9a-f]{32}$", me.GetProperty("traceId").GetString());
    }

    [Fact]
    public async Task Me_Anonymous_Is401_WithTheRequestIdEchoed()
    {
        await using var sample = new SampleFactory();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
        request.Headers.Add("X-Request-ID", "req-anon");

        var response = await sample.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("req-anon", Assert.Single(response.Headers.GetValues("X-Request-ID")));
    }

    [Fact]
    public async Task Me_WithATokenSignedByAnotherKey_Is401()
    {
        await using var sample = new SampleFactory();
        await using var other = new SampleFactory(settings: new()
        {
            ["Authentication:Schemes:Bearer:SigningKeys:0:Value"] = Convert.ToBase64String(new byte[32]),
        });
        var forged = other.Token("mallory");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", forged);

        var response = await sample.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task DevToken_OutsideDevelopment_IsNotMapped()
    {
        await using var sample = new SampleFactory(environment: "Production");

        var response = await sample.CreateClient().PostAsync("/dev/token?user=alice", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Throws<InvalidOperationException>(() => sample.Token("alice"));
    }

    [Theory]
    [InlineData("al%0D%0Aice")]                       // CR/LF
    [InlineData("%C3%A9lodie")]                       // non-ASCII
    [InlineData("%3Cscript%3E")]                      // markup
    [InlineData("a123456789012345678901234567890123")] // 34 characters
    [InlineData("")]
    public async Task DevToken_WithABadUserName_Is400ProblemDetails_WithoutEchoingIt(string user)
    {
        await using var sample = new SampleFactory();

        var response = await sample.CreateClient().PostAsync($"/dev/token?user={user}", null);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(Uri.UnescapeDataString(user) is { Length: > 0 } raw ? raw : "\u0000", body, StringComparison.Ordinal);
    }
}
