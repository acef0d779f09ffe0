using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.Scripting;

/// <summary>
/// Options of the script host, bound from the configuration section <c>AiWebEngine:Scripts</c>.
/// </summary>
public sealed class ScriptOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Scripts";

    /// <summary>
    /// Directory that holds the scripts (every <c>*.js</c> file below it, subfolders included).
    /// Relative paths are resolved against the current directory. Default: <c>scripts</c>.
    /// </summary>
    [Required]
    public string Path { get; set; } = "scripts";

    /// <summary>Whether the directory is watched so that edits load, reload and unload scripts. Default: <see langword="true"/>.</summary>
    public bool Watch { get; set; } = true;

    /// <summary>Largest script source accepted, in bytes. Default: 1 MiB.</summary>
    [Range(1, 64 * 1024 * 1024)]
    public int MaxSourceBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Wall time one call into a script may take (top level, <c>init</c>, a handler or a resolver,
    /// including the time its returned Promise takes to settle). The isolate is interrupted when it
    /// passes. Default: 5 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// V8 heap one isolate may use, in MiB. A call that goes past it fails, and the script is
    /// reloaded into a fresh isolate. Default: 128.
    /// </summary>
    [Range(8, 4096)]
    public int MaxHeapMiB { get; set; } = 128;

    /// <summary>Native stack one call may use, in KiB, so that runaway recursion fails the call instead of the process. Default: 512.</summary>
    [Range(64, 8192)]
    public int MaxStackKiB { get; set; } = 512;

    /// <summary>
    /// Distinct registrations (routes, streams and GraphQL fields together) one version of a script may
    /// make; the call that would make one more throws. This bounds the engine's tables and the work of
    /// checking each new registration against them. Default: 10 000.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxRegistrations { get; set; } = 10_000;

    /// <summary>
    /// Calls that may wait for one script while it runs another (its calls run one at a time); a call
    /// that finds this many waiting is refused at once (503 <c>SCRIPT_BUSY</c> with <c>Retry-After</c>;
    /// a resolver: a GraphQL error with that code). 0: a call that finds the script busy is refused.
    /// The wait counts in the call's <see cref="CallTimeout"/>. Default: 1000.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxQueuedCalls { get; set; } = 1000;

    /// <summary>
    /// Whether scripts may read the caller's credentials: the <c>Authorization</c> and <c>Cookie</c> headers
    /// in <c>req.headers</c> and GraphQL's <c>context.headers</c>. Off by default: scripts see who is
    /// calling (<c>req.user</c>, <c>context.user</c>), never the token or cookie that proved it, so a script
    /// that logs or forwards its request cannot leak a credential.
    /// </summary>
    public bool ExposeCredentials { get; set; }

    /// <summary>
    /// Timers (<c>setTimeout</c> and <c>setInterval</c> not yet fired or cleared) one version of a script may
    /// hold at once; the call that would set one more throws. Default: 1000.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxTimers { get; set; } = 1000;

    /// <summary>Named jobs (<c>schedule</c>) one version of a script may have. Default: 100.</summary>
    [Range(1, 10_000)]
    public int MaxSchedules { get; set; } = 100;

    /// <summary>The shortest <c>setInterval</c> period; a shorter one throws. Default: 10 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan MinTimerInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How long file changes must settle before a script is (re)loaded. Default: 150 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan ReloadDebounce { get; set; } = TimeSpan.FromMilliseconds(150);
}
