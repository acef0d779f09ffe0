using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.RateLimiting;

/// <summary>
/// Lets a test speak as different clients over one connection: <c>X-Test-Address</c> sets the remote
/// address and <c>X-Test-User</c> signs the request in as that <c>sub</c> (an authenticated identity,
/// as a JWT bearer handler would make it). Runs before the engine's middleware.
/// </summary>
internal sealed class TestCallers : IStartupFilter
{
    public const string AddressHeader = "X-Test-Address";
    public const string UserHeader = "X-Test-User";

    public static void Add(IServiceCollection services) => services.AddSingleton<IStartupFilter, TestCallers>();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((context, following) =>
        {
            if (context.Request.Headers[AddressHeader] is [{ } address])
            {
                context.Connection.RemoteIpAddress = IPAddress.Parse(address);
            }

            if (context.Request.Headers[UserHeader] is [{ } user])
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", user)], "Test"));
            }

            return following(context);
        });
        next(app);
    };

    /// <summary>A request from <paramref name="address"/>, signed in as <paramref name="user"/> when given.</summary>
    public static HttpRequestMessage From(HttpMethod method, string path, string address, string? user = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(AddressHeader, address);
        if (user is not null)
        {
            request.Headers.Add(UserHeader, user);
        }

        return request;
    }
}
