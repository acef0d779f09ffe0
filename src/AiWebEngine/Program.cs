using AiWebEngine.Hosting;

// appsettings.json sits next to the binary, so that it applies wherever `dotnet run` is started.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Configuration.AddCommandLine(args, CommandLineAliases.Switches);

builder.Services.AddAiWebEngine();

var app = builder.Build();
app.UseAiWebEngine();
app.MapAiWebEngine();
app.Run();

/// <summary>The application's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
