using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OAuth.Claims;

namespace AiWebEngine.Security;

/// <summary>
/// Every claim of the provider's userinfo answer, under its JSON name, so a script sees in
/// <c>req.user.claims</c> what the provider says about the user (<c>role</c>, <c>roles</c>, <c>team</c>, …),
/// not only the handful of names the OpenID Connect handler maps by default.
/// </summary>
/// <remarks>
/// An array is one claim per element (so <c>roles: ["a", "b"]</c> are two roles); an object is kept as its
/// JSON text; a claim the identity already has with the same value (from the ID token) is not repeated.
/// Protocol claims (<c>iss</c>, <c>aud</c>, <c>exp</c>, <c>nonce</c>, …) are never added: they describe a
/// token, not the user, and the session has its own expiry.
/// </remarks>
internal sealed class UserInfoClaims() : ClaimAction("*", ClaimValueTypes.String)
{
    private static readonly HashSet<string> Protocol = new(StringComparer.Ordinal)
    {
        "iss", "aud", "azp", "exp", "nbf", "iat", "auth_time", "nonce", "at_hash", "c_hash", "s_hash", "acr", "amr", "sid", "jti",
    };

    public override void Run(JsonElement userData, ClaimsIdentity identity, string issuer)
    {
        if (userData.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var property in userData.EnumerateObject())
        {
            if (Protocol.Contains(property.Name))
            {
                continue;
            }

            if (property.Value.ValueKind == JsonValueKind.Array)
            {
                foreach (var element in property.Value.EnumerateArray())
                {
                    Add(identity, property.Name, element, issuer);
                }
            }
            else
            {
                Add(identity, property.Name, property.Value, issuer);
            }
        }
    }

    private static void Add(ClaimsIdentity identity, string type, JsonElement value, string issuer)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => value.GetRawText(),
        };
        if (text is null || identity.HasClaim(type, text))
        {
            return;
        }

        identity.AddClaim(new Claim(type, text, ClaimValueTypes.String, issuer));
    }
}
