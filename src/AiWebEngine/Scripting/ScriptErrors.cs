namespace AiWebEngine.Scripting;

/// <summary>A script failed: it threw, returned something the API cannot use, or broke a limit.</summary>
/// <remarks>
/// <see cref="Message"/> is the script's own message (for JavaScript errors, <c>error.message</c>),
/// <see cref="Line"/> the line in <see cref="ScriptUri"/> it came from when V8 reported one. A
/// script chooses its error messages, so one longer than <see cref="MaxMessageLength"/> is cut in
/// the middle (it is logged, kept by <c>/health</c> and sent to clients).
/// </remarks>
public class ScriptFailedException : Exception
{
    /// <summary>The longest message kept; a longer one keeps its start and end and says how much was cut.</summary>
    public const int MaxMessageLength = 1000;

    public ScriptFailedException(string scriptUri, string message, int? line = null, Exception? inner = null)
        : base(Cut(message), inner)
    {
        ScriptUri = scriptUri;
        Line = line;
    }

    public ScriptFailedException() : this("", "The script failed.") { }

    public ScriptFailedException(string message) : this("", message) { }

    public ScriptFailedException(string message, Exception inner) : this("", message, null, inner) { }

    /// <summary>The URI of the script that failed (its path under the scripts directory).</summary>
    public string ScriptUri { get; }

    /// <summary>The 1-based line of the failure in the script, when known.</summary>
    public int? Line { get; }

    private static string Cut(string message) =>
        message.Length <= MaxMessageLength
            ? message
            : string.Concat(message.AsSpan(0, 600), $"... ({message.Length - 800} characters cut) ...", message.AsSpan(message.Length - 200));

    /// <summary>The JavaScript stack (V8's error details), secrets masked; <see langword="null"/> when the failure is not a JavaScript error.</summary>
    public string? ScriptStack { get; init; }

    /// <summary>The message, the JavaScript stack when there is one, and the .NET stack: what a logger prints.</summary>
    public override string ToString() =>
        ScriptStack is { } stack ? $"{GetType().FullName}: {Message}{Environment.NewLine}{stack}{Environment.NewLine}{StackTrace}" : base.ToString();

    /// <summary>The message with its location, as logged and reported by <c>/health</c>.</summary>
    public string Describe() => Line is { } line ? $"{Message} ({ScriptUri}:{line})" : $"{Message} ({ScriptUri})";
}

/// <summary>
/// A call into a script ran past <see cref="ScriptOptions.CallTimeout"/> and was interrupted, or spent
/// all of it waiting for the script's earlier calls and was not run.
/// </summary>
public sealed class ScriptTimeoutException : ScriptFailedException
{
    public ScriptTimeoutException(string scriptUri, TimeSpan limit, bool whileQueued = false)
        : base(scriptUri, whileQueued
            ? $"the call waited {limit.TotalMilliseconds:0} ms (AiWebEngine:Scripts:CallTimeout) for the script's earlier calls and was not run"
            : $"the script did not finish within {limit.TotalMilliseconds:0} ms (AiWebEngine:Scripts:CallTimeout) and was interrupted")
    {
    }

    public ScriptTimeoutException() { }

    public ScriptTimeoutException(string message) : base(message) { }

    public ScriptTimeoutException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A call found <see cref="ScriptOptions.MaxQueuedCalls"/> calls already waiting for the script and was not run.</summary>
public sealed class ScriptBusyException : ScriptFailedException
{
    public ScriptBusyException(string scriptUri, int maxQueued)
        : base(scriptUri, $"the script is busy: {maxQueued} calls are already waiting for it (AiWebEngine:Scripts:MaxQueuedCalls); this call was not run")
    {
    }

    public ScriptBusyException() { }

    public ScriptBusyException(string message) : base(message) { }

    public ScriptBusyException(string message, Exception inner) : base(message, inner) { }
}
