namespace AiWebEngine.Management;

/// <summary>Checks the script URIs the management API accepts: a relative <c>*.js</c> path under the scripts directory.</summary>
internal static class ScriptUris
{
    /// <summary>Longest URI accepted, in characters.</summary>
    public const int MaxLength = 260;

    /// <summary>Why <paramref name="uri"/> is not acceptable, or <see langword="null"/> when it is.</summary>
    /// <remarks>
    /// Besides the syntax, the full path must stay under <paramref name="root"/>: a URI never names a
    /// file outside the scripts directory, whatever the platform makes of it.
    /// </remarks>
    public static string? Validate(string uri, string root)
    {
        if (uri.Length == 0 || uri.Length > MaxLength)
        {
            return $"a script URI has 1 to {MaxLength} characters";
        }

        if (!uri.EndsWith(".js", StringComparison.Ordinal))
        {
            return $"'{uri}' does not end in '.js'";
        }

        if (uri[0] == '/' || uri.Contains('\\', StringComparison.Ordinal) || uri.Contains(':', StringComparison.Ordinal) || Path.IsPathRooted(uri))
        {
            return $"'{uri}' is not a relative path with '/' separators";
        }

        foreach (var c in uri)
        {
            if (char.IsControl(c))
            {
                return $"'{uri}' contains a control character";
            }
        }

        foreach (var segment in uri.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                return $"'{uri}' has an empty, '.' or '..' segment";
            }
        }

        var full = Path.GetFullPath(Path.Combine(root, uri));
        var prefix = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
        return full.StartsWith(prefix, StringComparison.Ordinal) ? null : $"'{uri}' is not under the scripts directory";
    }
}
