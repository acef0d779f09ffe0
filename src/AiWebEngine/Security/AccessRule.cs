using System.Text.Json;
using Microsoft.AspNetCore.Authorization;

namespace AiWebEngine.Security;

/// <summary>
/// Who may use a registration, as its <c>auth</c> option declared it: anyone (no rule), any signed-in
/// user (<c>"user"</c>), a user with one of some roles (<c>{ roles: [...] }</c>), or a named policy
/// (<c>{ policy: "name" }</c>) from configuration or the host.
/// </summary>
/// <remarks>
/// The rule is enforced by ASP.NET Core authorization (<see cref="Policy"/>), never by script code: a
/// script declares it once, at registration, and cannot weaken it per request.
/// </remarks>
public sealed class AccessRule
{
    private AccessRule(string description, AuthorizationPolicy? policy, string? policyName, IReadOnlyList<string> roles)
    {
        Description = description;
        Policy = policy;
        PolicyName = policyName;
        Roles = roles;
    }

    /// <summary>Any signed-in user.</summary>
    public static AccessRule User { get; } = new("a signed-in user", SignedIn().Build(), null, []);

    /// <summary>What the rule asks for, in words for error messages ("a signed-in user with role admin").</summary>
    public string Description { get; }

    /// <summary>The policy for a user or roles rule; <see langword="null"/> for a named policy (see <see cref="PolicyName"/>).</summary>
    public AuthorizationPolicy? Policy { get; }

    /// <summary>The configured policy this rule names, or <see langword="null"/>.</summary>
    public string? PolicyName { get; }

    /// <summary>The roles a roles rule accepts (any one of them); empty otherwise.</summary>
    public IReadOnlyList<string> Roles { get; }

    /// <summary>A user with at least one of <paramref name="roles"/>.</summary>
    public static AccessRule AnyRole(IReadOnlyList<string> roles) =>
        new($"a signed-in user with role {string.Join(" or ", roles)}",
            SignedIn().RequireAssertion(c => ScriptUser.HasAnyRole(c.User, roles)).Build(), null, roles);

    /// <summary>The policy named <paramref name="name"/>.</summary>
    public static AccessRule Named(string name) => new($"policy '{name}'", null, name, []);

    /// <summary>The policy to enforce, from <paramref name="policies"/> for a named rule.</summary>
    public async Task<AuthorizationPolicy> ResolveAsync(IAuthorizationPolicyProvider policies) =>
        Policy ?? await policies.GetPolicyAsync(PolicyName!) ?? throw new InvalidOperationException($"The authorization policy '{PolicyName}' is not configured.");

    /// <summary>
    /// Reads the <c>auth</c> option as the bootstrap serialized it; anything else than the three shapes is refused
    /// (a script can replace <c>JSON.stringify</c>).
    /// </summary>
    public static bool TryParse(JsonElement value, out AccessRule? rule, out string? error)
    {
        rule = null;
        error = null;
        const string Shapes = "auth must be \"user\", { roles: [\"...\"] } or { policy: \"name\" }";
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.String when value.GetString() == "user":
                rule = User;
                return true;
            case JsonValueKind.Object:
                break;
            default:
                error = Shapes;
                return false;
        }

        var properties = value.EnumerateObject().ToList();
        if (properties.Count != 1)
        {
            error = Shapes + " (one of roles or policy)";
            return false;
        }

        var property = properties[0];
        if (property.Name == "policy" && property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } name)
        {
            rule = Named(name);
            return true;
        }

        if (property.Name == "roles" && property.Value.ValueKind == JsonValueKind.Array)
        {
            var roles = new List<string>();
            foreach (var role in property.Value.EnumerateArray())
            {
                if (role.ValueKind != JsonValueKind.String || role.GetString() is not { Length: > 0 } text)
                {
                    error = "auth.roles must hold non-empty strings";
                    return false;
                }

                roles.Add(text);
            }

            if (roles.Count == 0)
            {
                error = "auth.roles must name at least one role";
                return false;
            }

            rule = AnyRole(roles);
            return true;
        }

        error = Shapes;
        return false;
    }

    private static AuthorizationPolicyBuilder SignedIn() =>
        new AuthorizationPolicyBuilder().RequireAssertion(c => ScriptUser.Id(c.User) is not null);
}
