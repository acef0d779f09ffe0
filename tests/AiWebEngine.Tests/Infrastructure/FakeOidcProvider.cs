using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Web;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// An OpenID Connect provider inside the test process, for TestServer sign-ins: its metadata is given
/// to the engine's <c>OpenIdConnect</c> scheme directly and its token endpoint is the scheme's back
/// channel. The test plays the browser: it follows the engine's redirect to <see cref="AuthorizeEndpoint"/>,
/// makes the provider <see cref="Approve"/> a user, and brings the code back to <c>/auth/callback</c>.
/// </summary>
public sealed class FakeOidcProvider
{
    public const string Issuer = "https://idp.test";
    public const string ClientId = "aiwebengine";
    public const string ClientSecret = "client-secret-for-tests";
    public const string AuthorizeEndpoint = Issuer + "/authorize";

    private readonly RsaSecurityKey _key = new(RSA.Create(2048)) { KeyId = "test-key" };
    private readonly ConcurrentDictionary<string, (string IdToken, string Verifier)> _codes = new();
    private readonly OpenIdConnectConfiguration _configuration;

    public FakeOidcProvider(bool endSession = false)
    {
        _configuration = new OpenIdConnectConfiguration
        {
            Issuer = Issuer,
            AuthorizationEndpoint = AuthorizeEndpoint,
            TokenEndpoint = Issuer + "/token",
            EndSessionEndpoint = endSession ? Issuer + "/logout" : null,
        };
        _configuration.SigningKeys.Add(_key);
    }

    /// <summary>How many codes the engine exchanged at the token endpoint.</summary>
    public int Exchanges { get; private set; }

    /// <summary>The engine settings of a sign-in with this provider.</summary>
    public static Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Authentication:Schemes:OpenIdConnect:Authority"] = Issuer,
            ["Authentication:Schemes:OpenIdConnect:ClientId"] = ClientId,
            ["Authentication:Schemes:OpenIdConnect:ClientSecret"] = ClientSecret,
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Points the engine's scheme at this provider (metadata and back channel).</summary>
    public void Configure(IServiceCollection services) =>
        services.PostConfigure<OpenIdConnectOptions>(OpenIdConnectDefaults.AuthenticationScheme, options =>
        {
            options.Configuration = _configuration;
            options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(_configuration);
            options.Backchannel = new HttpClient(new TokenEndpoint(this));
        });

    /// <summary>
    /// What the provider does when the browser arrives at <paramref name="authorizeUrl"/> and the user
    /// signs in: checks the request, issues a code for an id token with the request's nonce, and returns
    /// the redirect back to the engine (<c>redirect_uri?code&amp;state</c>).
    /// </summary>
    public string Approve(Uri authorizeUrl, string sub, string? name = null, string[]? roles = null, TimeSpan? lifetime = null, string? nonce = null, string? audience = null)
    {
        Assert.Equal(AuthorizeEndpoint, authorizeUrl.GetLeftPart(UriPartial.Path));
        var query = HttpUtility.ParseQueryString(authorizeUrl.Query);
        Assert.Equal(ClientId, query["client_id"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        var claims = new Dictionary<string, object> { ["sub"] = sub, ["nonce"] = nonce ?? query["nonce"]! };
        if (name is not null)
        {
            claims["name"] = name;
        }

        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        var now = DateTime.UtcNow;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience ?? ClientId,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + (lifetime ?? TimeSpan.FromHours(1)),
            Claims = claims,
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.RsaSha256),
        });
        var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        _codes[code] = (token, query["code_challenge"]!);
        return $"{query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(query["state"]!)}";
    }

    private sealed class TokenEndpoint(FakeOidcProvider provider) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsoluteUri != provider._configuration.TokenEndpoint || request.Method != HttpMethod.Post)
            {
                return new HttpResponseMessage(HttpStatusCode.NotFound);
            }

            var form = HttpUtility.ParseQueryString(await request.Content!.ReadAsStringAsync(cancellationToken));
            // A code is good once, for this client, with the verifier of the challenge it was issued for.
            if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret || form["code"] is not { } code
                || !provider._codes.TryRemove(code, out var issued)
                || Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"] ?? ""))) != issued.Verifier)
            {
                return Json(HttpStatusCode.BadRequest, new { error = "invalid_grant" });
            }

            provider.Exchanges++;
            return Json(HttpStatusCode.OK, new { access_token = "opaque-access-token", token_type = "Bearer", expires_in = 3600, id_token = issued.IdToken });
        }

        private static HttpResponseMessage Json(HttpStatusCode status, object body) =>
            new(status) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
    }
}
