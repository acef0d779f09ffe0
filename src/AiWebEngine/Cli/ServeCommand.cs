using System.CommandLine;
using AiWebEngine.Hosting;

namespace AiWebEngine.Cli;

/// <summary>
/// <c>serve</c>, the default command: the web server. Every argument is host configuration
/// (<c>--scripts DIR</c>, <c>--urls URL</c>, <c>--AiWebEngine:Streams:MaxConnections=5000</c>).
/// </summary>
internal static class ServeCommand
{
    public static Command Create(Func<string[]> hostArguments)
    {
        var command = new Command("serve", "Serve the scripts directory over HTTP (the default command).")
        {
            new Option<string>("--scripts") { Description = "The scripts directory (AiWebEngine:Scripts:Path; default: scripts)." },
            new Option<string>("--urls") { Description = "Where to listen (default: http://localhost:3000)." },
        };
        // Any configuration key may follow (--AiWebEngine:…=…); the host reads them, not this parser.
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(_ => RunAsync(hostArguments()));
        return command;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        // appsettings.json sits next to the binary, so that it applies wherever `dotnet run` is started.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddCommandLine(args, CommandLineAliases.Switches);

        builder.Services.AddAiWebEngine();

        var app = builder.Build();
        app.UseAiWebEngine();
        app.MapAiWebEngine();
        await app.RunAsync();
        return 0;
    }
}
