using System.Net;
using System.Text.Json;
using AiWebEngine.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace AiWebEngine.Tests.Diagnostics;

public sealed class AdminAccessTests
{
    private static AdminAccess Access(string? token) => new(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { [AdminAccess.TokenKey] = token })
        .Build());

    private static DefaultHttpContext Request(string remoteAddress, string? authorization = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remoteAddress);
        context.Request.Path = "/metrics";
        context.Request.Method = "GET";
        context.Response.Body = new MemoryStream();
        if (authorization is not null)
        {
            context.Request.Headers.Authorization = authorization;
        }

        return context;
    }

    private static string ErrorCode(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return JsonDocument.Parse(context.Response.Body).RootElement.GetProperty("error").GetProperty("code").GetString()!;
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task Authorize_ServesLoopback_WhenNoTokenIsSet(string address)
    {
        Assert.True(await Access(null).AuthorizeAsync(Request(address)));
    }

    [Fact]
    public async Task Authorize_Answers403Json_ToARemoteClient_WhenNoTokenIsSet()
    {
        var context = Request("203.0.113.7");

        Assert.False(await Access(null).AuthorizeAsync(context));
        Assert.Equal(StatusCodes.Status403Forbidden, context.Response.StatusCode);
        Assert.Equal("FORBIDDEN", ErrorCode(context));
    }

    [Theory]
    [InlineData("127.0.0.1", null)]
    [InlineData("127.0.0.1", "Bearer wrong")]
    [InlineData("203.0.113.7", "Basic czNjcmV0")]
    public async Task Authorize_Answers401Json_WithoutTheRightBearerToken_LoopbackToo(string address, string? authorization)
    {
        var context = Request(address, authorization);

        Assert.False(await Access("s3cret").AuthorizeAsync(context));
        Assert.Equal(StatusCodes.Status401Unauthorized, context.Response.StatusCode);
        Assert.Equal("UNAUTHORIZED", ErrorCode(context));
    }

    [Fact]
    public async Task Authorize_ServesARemoteClient_WithTheBearerToken()
    {
        Assert.True(await Access("s3cret").AuthorizeAsync(Request("203.0.113.7", "Bearer s3cret")));
    }
}
