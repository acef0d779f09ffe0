using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.Scripting.Fetch;

/// <summary>Outbound HTTP from scripts (<c>fetch</c>), bound from <c>AiWebEngine:Fetch</c>. Off until hosts are listed.</summary>
public sealed class FetchOptions
{
    public const string SectionName = "AiWebEngine:Fetch";

    /// <summary>
    /// The hosts scripts may reach: <c>api.example.com</c> (any port), <c>api.example.com:8443</c>,
    /// <c>*.example.com</c> (its subdomains), <c>*</c> (any public host). A host listed by name (not by a
    /// wildcard) may be reached even when it resolves to a private or loopback address; every other
    /// address must be public. Empty (the default): <c>fetch</c> is off.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Time one fetch may take, redirects included. Default: 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest response body read. Default: 10 MiB.</summary>
    [Range(1, 1024 * 1024 * 1024)]
    public int MaxResponseBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>The largest request body sent. Default: 10 MiB.</summary>
    [Range(0, 1024 * 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>Fetches one script may have in flight at once. Default: 16.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrentPerScript { get; set; } = 16;

    /// <summary>Redirects one fetch follows, each checked like the first URL. Default: 5.</summary>
    [Range(0, 20)]
    public int MaxRedirects { get; set; } = 5;
}
