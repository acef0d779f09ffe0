using AiWebEngine.Cli;

// One executable: `serve` (the default), `deploy` and `schema`; see Cli/EngineCommandLine.cs.
return await EngineCommandLine.InvokeAsync(args, Console.Out, Console.Error);

/// <summary>The application's entry point; public so that tests can host it with WebApplicationFactory.</summary>
public partial class Program;
