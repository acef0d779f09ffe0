using AiWebEngine.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, CommandLineAliases.Switches);
builder.Services.AddAiWebEngine();

var app = builder.Build();
app.UseAiWebEngine();
app.MapAiWebEngine();
app.Run();

/// <summary>The application's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
