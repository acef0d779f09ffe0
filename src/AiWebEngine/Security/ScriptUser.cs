using System.Security.Claims;
using System.Text.Json;

namespace AiWebEngine.Security;

/// <summary>
/// Who is calling, as a script sees it: <c>null</c> when anonymous, else <c>{ id, name, roles, claims }</c>.
/// </summary>
/// <remarks>
/// Invariants: <c>id</c> is the <c>sub</c> claim and nothing else (a principal without <c>sub</c> is
/// anonymous to scripts, so two different callers can never share an id by accident); <c>roles</c> is the
/// union of the <c>role</c> and <c>roles</c> claims (and <see cref="ClaimTypes.Role"/>, which some
/// handlers map them to); the credential itself (token, cookie) is never part of it.
/// </remarks>
public static class ScriptUser
{
    /// <summary>The claim that is a user's id.</summary>
    public const string IdClaim = "sub";

    private static readonly string[] RoleClaims = ["role", "roles", ClaimTypes.Role];

    /// <summary>The signed-in user's id (<c>sub</c>), or <see langword="null"/> when anonymous.</summary>
    public static string? Id(ClaimsPrincipal? principal)
    {
        if (principal is null)
        {
            return null;
        }

        foreach (var identity in principal.Identities)
        {
            if (identity.IsAuthenticated && identity.FindFirst(IdClaim) is { Value.Length: > 0 } sub)
            {
                return sub.Value;
            }
        }

        return null;
    }

    /// <summary>The user's roles: every value of <c>role</c>, <c>roles</c> and <see cref="ClaimTypes.Role"/>, without repeats.</summary>
    public static IReadOnlyList<string> Roles(ClaimsPrincipal principal)
    {
        var roles = new List<string>();
        foreach (var claim in principal.Claims)
        {
            if (Array.IndexOf(RoleClaims, claim.Type) >= 0 && claim.Value.Length > 0 && !roles.Contains(claim.Value))
            {
                roles.Add(claim.Value);
            }
        }

        return roles;
    }

    /// <summary>Whether the signed-in user has at least one of <paramref name="roles"/> (ordinal comparison).</summary>
    public static bool HasAnyRole(ClaimsPrincipal principal, IReadOnlyCollection<string> roles)
    {
        if (Id(principal) is null)
        {
            return false;
        }

        foreach (var claim in principal.Claims)
        {
            if (Array.IndexOf(RoleClaims, claim.Type) >= 0 && roles.Contains(claim.Value, StringComparer.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes the script's view of <paramref name="principal"/> as the current JSON value (<c>null</c> when anonymous).</summary>
    public static void Write(Utf8JsonWriter json, ClaimsPrincipal? principal)
    {
        if (Id(principal) is not { } id)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartObject();
        json.WriteString("id", id);
        if (principal!.FindFirst("name") is { } name)
        {
            json.WriteString("name", name.Value);
        }
        else
        {
            json.WriteNull("name");
        }

        json.WriteStartArray("roles");
        foreach (var role in Roles(principal))
        {
            json.WriteStringValue(role);
        }

        json.WriteEndArray();

        // Claims by type: one value as a string, repeated values as an array (as they were in the token).
        json.WriteStartObject("claims");
        foreach (var group in principal.Claims.GroupBy(c => c.Type, StringComparer.Ordinal))
        {
            var values = group.Select(c => c.Value).ToList();
            if (values.Count == 1)
            {
                json.WriteString(group.Key, values[0]);
            }
            else
            {
                json.WriteStartArray(group.Key);
                foreach (var value in values)
                {
                    json.WriteStringValue(value);
                }

                json.WriteEndArray();
            }
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }
}
