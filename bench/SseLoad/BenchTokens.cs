using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SseLoad;

/// <summary>
/// HS256 JWTs for the authenticated fan-out (<c>--jwt-key</c> base64, <c>--jwt-issuer</c>, <c>--jwt-audience</c>):
/// client i is the user <c>user-i</c>, with a token valid for an hour, minted once per client.
/// </summary>
internal sealed class BenchTokens(string base64Key, string issuer, string audience)
{
    private readonly byte[] _key = Convert.FromBase64String(base64Key);
    private readonly Dictionary<int, string> _minted = [];

    public string For(int index)
    {
        lock (_minted)
        {
            if (!_minted.TryGetValue(index, out var token))
            {
                _minted[index] = token = Mint("user-" + index);
            }

            return token;
        }
    }

    private string Mint(string sub)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = Part(new Dictionary<string, object> { ["alg"] = "HS256", ["typ"] = "JWT" });
        var payload = Part(new Dictionary<string, object> { ["sub"] = sub, ["iss"] = issuer, ["aud"] = audience, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 3600 });
        var signature = Base64Url(HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(header + "." + payload)));
        return header + "." + payload + "." + signature;
    }

    private static string Part(Dictionary<string, object> value) => Base64Url(JsonSerializer.SerializeToUtf8Bytes(value));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
