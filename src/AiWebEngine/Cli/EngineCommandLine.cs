using System.CommandLine;

namespace AiWebEngine.Cli;

/// <summary>
/// The command line of the one executable: <c>serve</c> (the default), <c>deploy</c> and <c>schema</c>
/// (System.CommandLine).
/// </summary>
/// <remarks>
/// Without a command the arguments go to <c>serve</c> unchanged, so <c>dotnet run -- --scripts DIR</c>,
/// <c>--urls</c> and <c>--AiWebEngine:…=…</c> keep working, and so do the arguments
/// WebApplicationFactory passes. The process's Ctrl+C is left to the host (graceful shutdown of the
/// streams), so System.CommandLine installs no handler of its own.
/// </remarks>
internal static class EngineCommandLine
{
    public static Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("AiWebEngine: a GraphQL-first web server whose application is JavaScript files.")
        {
            ServeCommand.Create(() => args[1..]),
            DeployCommand.Create(output, error),
            SchemaCommand.Create(() => args[1..], output, error),
        };
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction(_ => ServeCommand.RunAsync(args));

        // No @response-file expansion: an argument of the host starting with @ is a value, not a file.
        var parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        return parsed.InvokeAsync(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // The host's own exceptions (WebApplicationFactory stops it with one) must reach the caller.
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        }, cancellationToken);
    }
}
