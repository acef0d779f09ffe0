namespace AiWebEngine.Scripting;

/// <summary>Where <c>writeLog</c> and <c>console.*</c> go: <see cref="ILogger"/>, tagged with the script URI.</summary>
/// <remarks>
/// A line is cut at <see cref="MaxLineLength"/> characters here, in .NET: the bootstrap cuts too, but
/// with <c>String.prototype.slice</c>, which a script can replace. Every line is kept by the
/// management API's buffer and written to every log provider, so an uncut line is memory a script
/// could grow without bound. Every configured secret's value is masked first (<see cref="ScriptSecrets.Redact"/>).
/// </remarks>
internal sealed partial class ScriptLogger(ILoggerFactory loggerFactory, ScriptSecrets secrets)
{
    /// <summary>The log category of script output.</summary>
    public const string Category = "AiWebEngine.Scripts";

    /// <summary>The longest line kept, in UTF-16 code units; the rest is replaced by <c>... (N more characters cut)</c>.</summary>
    public const int MaxLineLength = 64 * 1024;

    private readonly ILogger _logger = loggerFactory.CreateLogger(Category);

    /// <summary>The secrets scripts read, and redact from what they log and throw.</summary>
    public ScriptSecrets Secrets { get; } = secrets;

    public void Write(string scriptUri, LogLevel level, string message)
    {
        if (level is < LogLevel.Trace or > LogLevel.Critical)
        {
            level = LogLevel.Information;
        }

        // Redacted before it is cut: a cut could split a secret so that no part of it matches.
        var line = Cut(Secrets.Redact(message));
        ScriptOutput(_logger, level, scriptUri, line);
    }

    /// <summary>Cuts <paramref name="message"/> to <see cref="MaxLineLength"/>, saying how much was cut.</summary>
    public static string Cut(string message)
    {
        if (message.Length <= MaxLineLength)
        {
            return message;
        }

        // Never keep half of a surrogate pair.
        var kept = char.IsHighSurrogate(message[MaxLineLength - 1]) ? MaxLineLength - 1 : MaxLineLength;
        return string.Concat(message.AsSpan(0, kept), $"... ({message.Length - kept} more characters cut)");
    }

    [LoggerMessage(EventId = 1000, Message = "[{ScriptUri}] {Message}")]
    private static partial void ScriptOutput(ILogger logger, LogLevel level, string scriptUri, string message);
}
