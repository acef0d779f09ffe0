using AiWebEngine.GraphQL;
using AiWebEngine.GraphQL.Ide;
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
