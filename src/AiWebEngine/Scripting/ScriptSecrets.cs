using Microsoft.Extensions.Primitives;

namespace AiWebEngine.Scripting;

/// <summary>
/// <c>secrets.get(name)</c>: the configuration value <c>AiWebEngine:Secrets:&lt;name&gt;</c> (appsettings, environment
/// variables such as <c>AiWebEngine__Secrets__GITHUB_WEBHOOK</c>, user secrets), readable by every script unless
/// the operator lists the scripts that may read it under <c>AiWebEngine:SecretAccess:&lt;name&gt;</c>; and the
/// redaction of every secret's value from what scripts log and throw.
/// </summary>
/// <remarks>
/// Invariants: the check of who may read a secret is made here, in .NET, on the calling script's URI (which a
/// script cannot choose); no endpoint returns a secret; a secret's value in a script's log line or error
/// message is replaced by <see cref="Mask"/> before anything keeps or writes it. The configuration is read
/// again whenever it reloads.
/// </remarks>
internal sealed class ScriptSecrets : IDisposable
{
    public const string SectionName = "AiWebEngine:Secrets";

    public const string AccessSectionName = "AiWebEngine:SecretAccess";

    /// <summary>What a secret's value is replaced with in logs and error messages.</summary>
    public const string Mask = "***";

    /// <summary>Values shorter than this are not redacted: they would match ordinary text (use long secrets).</summary>
    public const int MinRedactedLength = 6;

    private const int MaxNameLength = 128;

    private readonly IConfiguration _configuration;
    private readonly IDisposable _reload;
    private volatile Snapshot _snapshot;

    public ScriptSecrets(IConfiguration configuration)
    {
        _configuration = configuration;
        _snapshot = Read(configuration);
        _reload = ChangeToken.OnChange(configuration.GetReloadToken, () => _snapshot = Read(_configuration));
    }

    private sealed record Snapshot(IReadOnlyDictionary<string, string> Values, IReadOnlyDictionary<string, string[]> Access, string[] Redacted);

    /// <summary>The secret, <see langword="null"/> when it is not configured, or an error when the name is bad or the script may not read it.</summary>
    public (string? Value, string? Error) Get(string scriptUri, string name)
    {
        if (name.Length is 0 or > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            return (null, $"name must be 1 to {MaxNameLength} letters, digits, '_', '-' or '.' (the key {SectionName}:<name>), got '{(name.Length > 60 ? name[..57] + "..." : name)}'");
        }

        var snapshot = _snapshot;
        if (snapshot.Access.TryGetValue(name, out var allowed) && !allowed.Any(entry => Matches(entry, scriptUri)))
        {
            return (null, $"script '{scriptUri}' may not read secret '{name}': {AccessSectionName}:{name} lists the scripts that may");
        }

        return (snapshot.Values.TryGetValue(name, out var value) ? value : null, null);
    }

    /// <summary><paramref name="text"/> with every configured secret's value replaced by <see cref="Mask"/>.</summary>
    public string Redact(string text)
    {
        foreach (var value in _snapshot.Redacted)
        {
            if (text.Contains(value, StringComparison.Ordinal))
            {
                text = text.Replace(value, Mask, StringComparison.Ordinal);
            }
        }

        return text;
    }

    // An entry is a script URI ("hooks/github.js") or a folder and everything under it ("hooks/*"); "*" is every script.
    private static bool Matches(string entry, string scriptUri) =>
        entry == "*"
        || string.Equals(entry, scriptUri, StringComparison.Ordinal)
        || (entry.EndsWith("/*", StringComparison.Ordinal) && scriptUri.StartsWith(entry[..^1], StringComparison.Ordinal));

    private static Snapshot Read(IConfiguration configuration)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in configuration.GetSection(SectionName).GetChildren())
        {
            if (child.Value is { } value)
            {
                values[child.Key] = value;
            }
        }

        var access = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in configuration.GetSection(AccessSectionName).GetChildren())
        {
            // A list (SecretAccess:NAME:0 = …) or one value (SecretAccess:NAME = "hooks/*"); an empty list lets no script read it.
            access[child.Key] = child.Value is { } one ? [one] : [.. child.GetChildren().Select(c => c.Value).OfType<string>()];
        }

        // Longest first, so a secret that contains another is masked whole.
        var redacted = values.Values.Where(v => v.Length >= MinRedactedLength).Distinct().OrderByDescending(v => v.Length).ToArray();
        return new Snapshot(values, access, redacted);
    }

    public void Dispose() => _reload.Dispose();
}
