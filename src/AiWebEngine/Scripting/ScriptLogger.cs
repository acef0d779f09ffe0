namespace AiWebEngine.Scripting;

/// <summary>Where <c>writeLog</c> and <c>console.*</c> go: <see cref="ILogger"/>, tagged with the script URI.</summary>
internal sealed partial class ScriptLogger(ILoggerFactory loggerFactory)
{
    /// <summary>The log category of script output.</summary>
    public const string Category = "AiWebEngine.Scripts";

    private readonly ILogger _logger = loggerFactory.CreateLogger(Category);

    public void Write(string scriptUri, LogLevel level, string message)
    {
        if (level is < LogLevel.Trace or > LogLevel.Critical)
        {
            level = LogLevel.Information;
        }

        ScriptOutput(_logger, level, scriptUri, message);
    }

    [LoggerMessage(EventId = 1000, Message = "[{ScriptUri}] {Message}")]
    private static partial void ScriptOutput(ILogger logger, LogLevel level, string scriptUri, string message);
}
