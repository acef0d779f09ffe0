using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// JWTs for tests, signed with a development key the way <c>dotnet user-jwts</c> configures one:
/// <c>Authentication:Schemes:Bearer:SigningKeys:0:{Issuer,Value}</c> with a base64 symmetric key.
/// </summary>
public static class TestTokens
{
    public const string Issuer = "https://issuer.test";
    public const string Audience = "aiwebengine-tests";

    /// <summary>The development key (base64), 256 bits.</summary>
    public static string Key { get; } = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("aiwebengine test signing key")));

    /// <summary>A key no configuration trusts.</summary>
    public static string OtherKey { get; } = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("someone else's key")));

    /// <summary>The engine settings that accept tokens of <see cref="Mint"/>.</summary>
    public static Dictionary<string, string?> Settings(IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Authentication:Schemes:Bearer:ValidAudiences:0"] = Audience,
            ["Authentication:Schemes:Bearer:ValidIssuer"] = Issuer,
            ["Authentication:Schemes:Bearer:SigningKeys:0:Issuer"] = Issuer,
            ["Authentication:Schemes:Bearer:SigningKeys:0:Value"] = Key,
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>A token for <paramref name="sub"/>; every part can be made wrong to test a refusal.</summary>
    public static string Mint(
        string sub,
        string? name = null,
        string[]? roles = null,
        TimeSpan? lifetime = null,
        DateTime? notBefore = null,
        string issuer = Issuer,
        string audience = Audience,
        string? key = null,
        IReadOnlyDictionary<string, object>? claims = null)
    {
        var now = DateTime.UtcNow;
        var payload = new Dictionary<string, object> { ["sub"] = sub };
        if (name is not null)
        {
            payload["name"] = name;
        }

        if (roles is not null)
        {
            payload["roles"] = roles;
        }

        foreach (var (type, value) in claims ?? new Dictionary<string, object>())
        {
            payload[type] = value;
        }

        var expires = now + (lifetime ?? TimeSpan.FromMinutes(10));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = payload,
            IssuedAt = notBefore is { } nbf && nbf < expires ? nbf : (expires < now ? expires.AddMinutes(-5) : now),
            NotBefore = notBefore ?? (expires < now ? expires.AddMinutes(-5) : now),
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Convert.FromBase64String(key ?? Key)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    /// <summary>An unsigned token (<c>alg: none</c>) with otherwise valid claims.</summary>
    public static string AlgNone(string sub)
    {
        static string Part(object value) => Base64UrlEncoder.Encode(JsonSerializer.Serialize(value));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return Part(new { alg = "none", typ = "JWT" }) + "." +
               Part(new Dictionary<string, object> { ["sub"] = sub, ["iss"] = Issuer, ["aud"] = Audience, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 600 }) + ".";
    }
}
