using System.CommandLine;
using AiWebEngine.GraphQL;
using AiWebEngine.Hosting;
using AiWebEngine.Scripting;
using GraphQL;
using GraphQL.Types;
using GraphQL.Utilities;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Cli;

/// <summary>
/// <c>schema [--scripts DIR]</c>: loads the scripts in this process (no HTTP server, no watching) and
/// prints the SDL of the schema they produce; this is how <c>schema/samples.graphql</c> is refreshed.
/// </summary>
/// <remarks>
/// Scripts that fail to load are reported on standard error as <c>uri:line: error</c> and make the exit
/// code 1; the SDL of the others is printed all the same.
/// </remarks>
internal static class SchemaCommand
{
    public static Command Create(Func<string[]> hostArguments, TextWriter output, TextWriter error)
    {
        var command = new Command("schema", "Print the GraphQL SDL the scripts produce (loads them in-process; no server).")
        {
            new Option<string>("--scripts") { Description = "The scripts directory (AiWebEngine:Scripts:Path; default: scripts)." },
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((_, cancellationToken) => RunAsync(hostArguments(), output, error, cancellationToken));
        return command;
    }

    /// <summary>The SDL as printed: descriptions included, one trailing newline.</summary>
    public static string Print(ISchema schema) => schema.Print(new PrintOptions { IncludeDescriptions = true }).Trim() + "\n";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, CommandLineAliases.Switches);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"{ScriptOptions.SectionName}:Watch"] = "false" });
        // Standard output carries the SDL alone; load failures are reported below, on standard error.
        builder.Logging.ClearProviders();
        builder.Services.AddAiWebEngine();

        using var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync($"schema: {e.Message}");
            return 2;
        }

        try
        {
            await output.WriteAsync(Print(host.Services.GetRequiredService<IGraphQLSchemaProvider>().Current));
            var failed = host.Services.GetRequiredService<ScriptManager>().Statuses.Where(s => s.Error is not null).ToList();
            foreach (var script in failed)
            {
                await error.WriteLineAsync(script.ErrorLine is { } line ? $"{script.Uri}:{line}: {script.Error}" : $"{script.Uri}: {script.Error}");
            }

            return failed.Count == 0 ? 0 : 1;
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }
}
