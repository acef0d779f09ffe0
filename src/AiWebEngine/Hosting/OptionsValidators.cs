using AiWebEngine.GraphQL;
using AiWebEngine.GraphQL.Ide;
using AiWebEngine.RateLimiting;
using AiWebEngine.Routing;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Hosting;

[OptionsValidator]
internal sealed partial class ScriptOptionsValidator : IValidateOptions<ScriptOptions>
{
}

[OptionsValidator]
internal sealed partial class HttpOptionsValidator : IValidateOptions<HttpOptions>
{
}

[OptionsValidator]
internal sealed partial class StreamOptionsValidator : IValidateOptions<StreamOptions>
{
}

[OptionsValidator]
internal sealed partial class BusOptionsValidator : IValidateOptions<AiWebEngine.Streaming.Redis.BusOptions>
{
}

[OptionsValidator]
internal sealed partial class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
}

[OptionsValidator]
internal sealed partial class RateLimitPolicyValidator : IValidateOptions<RateLimitPolicyOptions>
{
}

/// <summary>
/// Checks each named policy (a dictionary, which the generated validator does not enter): its name, and
/// its values, as <c>AiWebEngine:RateLimits:Policies:&lt;name&gt;:&lt;key&gt;</c>.
/// </summary>
internal sealed class RateLimitPoliciesValidator : IValidateOptions<RateLimitOptions>
{
    private static readonly RateLimitPolicyValidator Policy = new();

    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var failures = new List<string>();
        foreach (var (policyName, policy) in options.Policies)
        {
            var key = $"{RateLimitOptions.SectionName}:Policies:{policyName}";
            if (policyName.Length == 0 || policyName.Length > 64 || !policyName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                failures.Add($"{key}: a policy name is 1 to 64 letters, digits, '-', '_' or '.'.");
            }

            if (policy is null)
            {
                failures.Add($"{key}: set at least PermitLimit and Window.");
                continue;
            }

            if (Policy.Validate(policyName, policy) is { Failed: true } result)
            {
                failures.AddRange(result.Failures.Select(f => $"{key}: {f}"));
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

[OptionsValidator]
internal sealed partial class GraphQLOptionsValidator : IValidateOptions<GraphQLOptions>
{
}

[OptionsValidator]
internal sealed partial class GraphQLIdeOptionsValidator : IValidateOptions<GraphQLIdeOptions>
{
}

/// <summary>Checks what attributes cannot: that the scripts directory exists.</summary>
internal sealed class ScriptDirectoryValidator : IValidateOptions<ScriptOptions>
{
    public ValidateOptionsResult Validate(string? name, ScriptOptions options)
    {
        var full = Path.GetFullPath(options.Path);
        return Directory.Exists(full)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{ScriptOptions.SectionName}:Path: the scripts directory '{full}' does not exist. Create it, or point --scripts (AiWebEngine:Scripts:Path) at the directory that holds your *.js files.");
    }
}
