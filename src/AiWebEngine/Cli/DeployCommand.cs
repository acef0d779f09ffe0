using System.CommandLine;

namespace AiWebEngine.Cli;

/// <summary><c>deploy &lt;file&gt; [--uri] [--server] [--token] [--watch]</c>: uploads a script to a running server.</summary>
internal static class DeployCommand
{
    public const string TokenVariable = "AIWEBENGINE_TOKEN";

    public static Command Create(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("file") { Description = "The script file to upload." };
        var uri = new Option<string>("--uri") { Description = "The script's URI on the server (default: the file's name)." };
        var server = new Option<string>("--server") { Description = "The server's base address.", DefaultValueFactory = _ => "http://localhost:3000" };
        var token = new Option<string>("--token") { Description = $"The admin token, sent as 'Authorization: Bearer' (default: ${TokenVariable})." };
        var watch = new Option<bool>("--watch") { Description = "Keep running and upload the file again on every save; waits for the server when it is down." };
        var command = new Command("deploy", "Upload a script to a running server through the management API.") { file, uri, server, token, watch };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!Uri.TryCreate(result.GetValue(server), UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                await error.WriteLineAsync($"deploy: --server must be an absolute http(s) address, got '{result.GetValue(server)}'.");
                return 2;
            }

            var path = result.GetValue(file)!;
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var deployer = new ScriptDeployer(
                path.FullName,
                result.GetValue(uri) ?? path.Name,
                new ScriptUpload(http, address, result.GetValue(token) ?? Environment.GetEnvironmentVariable(TokenVariable)),
                output,
                error);
            return result.GetValue(watch)
                ? await deployer.WatchAsync(cancellationToken)
                : await deployer.DeployOnceAsync(cancellationToken);
        });
        return command;
    }
}
