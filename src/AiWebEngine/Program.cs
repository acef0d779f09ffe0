using AiWebEngine.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, CommandLineAliases.Switches);
if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
{
    // aiwebengine's port, the one the user's guide and its curl lines use.
    builder.WebHost.UseUrls("http://localhost:3000");
}

builder.Services.AddAiWebEngine();

var app = builder.Build();
app.UseAiWebEngine();
app.MapAiWebEngine();
app.Run();

/// <summary>The application's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
