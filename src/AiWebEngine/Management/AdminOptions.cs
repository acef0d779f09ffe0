using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>Options of the management API under <c>/engine</c>, bound from <c>AiWebEngine:Admin</c>.</summary>
public sealed class AdminOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:Admin";

    /// <summary>
    /// The bearer token every management request must carry (<c>Authorization: Bearer &lt;token&gt;</c>),
    /// loopback clients included. Unset (the default): only loopback clients are served, without a token.
    /// </summary>
    [MinLength(16)]
    public string? Token { get; set; }

    /// <summary>
    /// A role (the token's <c>role</c>/<c>roles</c> claims) that makes a signed-in user an administrator:
    /// a JWT accepted by the engine's bearer scheme (<c>Authentication:Schemes:Bearer</c>) that carries it is
    /// served by the management API from any address, beside <see cref="Token"/>. Unset (the default): no
    /// JWT grants admin.
    /// </summary>
    [MinLength(1)]
    public string? Role { get; set; }

    /// <summary>How many recent log lines <c>GET /engine/logs</c> keeps; the oldest are dropped first. Default: 1000.</summary>
    [Range(10, 1_000_000)]
    public int LogBufferSize { get; set; } = 1000;

    /// <summary>How many recent script changes <c>GET /engine/script-updates</c> keeps for clients that reconnect with <c>Last-Event-ID</c>. Default: 256.</summary>
    [Range(1, 100_000)]
    public int UpdateBufferSize { get; set; } = 256;

    /// <summary>Frames one management stream client may fall behind before it is disconnected (it reconnects and resumes). Default: 1024.</summary>
    [Range(16, 1_000_000)]
    public int StreamQueueCapacity { get; set; } = 1024;

    /// <summary>Failed authentications (401 and 403) one client address may make per <see cref="FailedAttemptWindow"/>; past it, every request of that address gets 429 until the window ends. Default: 10.</summary>
    [Range(1, 100_000)]
    public int MaxFailedAttempts { get; set; } = 10;

    /// <summary>The window of <see cref="MaxFailedAttempts"/>. Default: 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FailedAttemptWindow { get; set; } = TimeSpan.FromMinutes(1);
}

[OptionsValidator]
internal sealed partial class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
}
