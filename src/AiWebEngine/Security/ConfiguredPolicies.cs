using Microsoft.AspNetCore.Authorization;

namespace AiWebEngine.Security;

/// <summary>
/// The authorization policies an operator names in <c>AiWebEngine:Authorization:Policies</c>, for scripts to use
/// with <c>{ auth: { policy: "name" } }</c>: each requires a signed-in user and, when given, one of its
/// <c>Roles</c> and, for each <c>Claims</c> type, one of the listed values.
/// </summary>
/// <example>
/// <code>"AiWebEngine": { "Authorization": { "Policies": { "operators": { "Roles": ["ops"], "Claims": { "tenant": ["acme"] } } } } }</code>
/// </example>
internal static class ConfiguredPolicies
{
    public static void AddTo(AuthorizationOptions options, IConfiguration configuration)
    {
        foreach (var section in configuration.GetSection(EngineAuthentication.PoliciesSection).GetChildren())
        {
            var roles = section.GetSection("Roles").GetChildren().Select(c => c.Value).OfType<string>().Where(r => r.Length > 0).ToList();
            var claims = section.GetSection("Claims").GetChildren()
                .Select(c => (Type: c.Key, Values: c.GetChildren().Select(v => v.Value).OfType<string>().Concat(c.Value is { } one ? [one] : []).ToList()))
                .ToList();
            options.AddPolicy(section.Key, policy =>
            {
                policy.RequireAssertion(c => ScriptUser.Id(c.User) is not null);
                if (roles.Count > 0)
                {
                    policy.RequireAssertion(c => ScriptUser.HasAnyRole(c.User, roles));
                }

                foreach (var (type, values) in claims)
                {
                    policy.RequireAssertion(c => c.User.Claims.Any(claim => claim.Type == type && values.Contains(claim.Value, StringComparer.Ordinal)));
                }
            });
        }
    }
}
