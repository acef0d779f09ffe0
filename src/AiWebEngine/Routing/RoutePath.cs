using System.Text;

namespace AiWebEngine.Routing;

/// <summary>
/// A path a script registers a route on: literal segments, <c>{name}</c> segments and an optional
/// trailing <c>/*</c>, turned into an ASP.NET Core route template.
/// </summary>
internal sealed class RoutePath
{
    /// <summary>The route value that holds what a trailing <c>/*</c> matched; scripts see it as <c>req.params["*"]</c>.</summary>
    public const string RestParameter = "__rest";

    /// <summary>Longest path accepted, in characters.</summary>
    public const int MaxLength = 200;

    /// <summary>Prefixes that belong to the engine itself.</summary>
    public static readonly IReadOnlyList<string> ReservedPrefixes = ["/auth", "/engine", "/graphql", "/health", "/metrics"];

    private RoutePath(string path, string template, string shape)
    {
        Path = path;
        Template = template;
        Shape = shape;
    }

    /// <summary>The path as the script wrote it.</summary>
    public string Path { get; }

    /// <summary>The ASP.NET Core route template (<c>/users/{id}/{**__rest}</c>).</summary>
    public string Template { get; }

    /// <summary>The path with parameter names erased and literals lower-cased: two routes with the same shape match the same requests.</summary>
    public string Shape { get; }

    /// <summary>Parses and validates <paramref name="path"/>; on failure <paramref name="error"/> says what is wrong.</summary>
    public static RoutePath? TryParse(string path, out string? error)
    {
        error = Validate(path);
        if (error is not null)
        {
            return null;
        }

        var template = new StringBuilder(path.Length + 8);
        var shape = new StringBuilder(path.Length);
        var segments = path.Length == 1 ? [] : path[1..].Split('/');
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            template.Append('/');
            shape.Append('/');
            if (segment.Length == 0)
            {
                error = $"path '{path}' has an empty segment ('//' or a trailing '/')";
                return null;
            }

            if (segment == "*")
            {
                if (i != segments.Length - 1)
                {
                    error = $"path '{path}' has '*' before its last segment; '/*' may only end a path";
                    return null;
                }

                template.Append("{**").Append(RestParameter).Append('}');
                shape.Append('*');
            }
            else if (segment[0] == '{')
            {
                var name = segment.Length > 2 && segment[^1] == '}' ? segment[1..^1] : "";
                if (!IsParameterName(name))
                {
                    error = $"path '{path}' has segment '{segment}'; a parameter segment is '{{name}}' with a name of letters, digits and '_'";
                    return null;
                }

                if (!names.Add(name))
                {
                    error = $"path '{path}' uses parameter '{name}' twice";
                    return null;
                }

                template.Append('{').Append(name).Append('}');
                shape.Append("{}");
            }
            else if (segment.AsSpan().IndexOfAny("{}*") >= 0)
            {
                error = $"path '{path}' has segment '{segment}'; '{{', '}}' and '*' may only appear as whole '{{name}}' or a final '*' segment";
                return null;
            }
            else
            {
                template.Append(segment);
                shape.Append(segment.ToLowerInvariant());
            }
        }

        if (segments.Length == 0)
        {
            template.Append('/');
            shape.Append('/');
        }

        return new RoutePath(path, template.ToString(), shape.ToString());
    }

    /// <summary>The checks every registered path (route or stream) passes; <see langword="null"/> when valid.</summary>
    public static string? Validate(string path)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return $"path must start with '/', got '{path}'";
        }

        if (path.Length > MaxLength)
        {
            return $"path is {path.Length} characters; the limit is {MaxLength}";
        }

        foreach (var c in path)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '?' or '#' or '\\')
            {
                return $"path '{Printable(path)}' contains {Describe(c)}; whitespace, control characters, '?', '#' and '\\' are not allowed";
            }
        }

        if (path.Contains("/../", StringComparison.Ordinal) || path.EndsWith("/..", StringComparison.Ordinal) || path.Contains("/./", StringComparison.Ordinal) || path.EndsWith("/.", StringComparison.Ordinal))
        {
            return $"path '{path}' contains a '.' or '..' segment";
        }

        foreach (var prefix in ReservedPrefixes)
        {
            if (path.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (path.Length == prefix.Length || path[prefix.Length] == '/'))
            {
                return $"path '{path}' is under '{prefix}', which is reserved for the engine";
            }
        }

        return null;
    }

    private static bool IsParameterName(string name)
    {
        if (name.Length == 0 || char.IsDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private static string Describe(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"character U+{(int)c:X4}" : $"'{c}'";

    private static string Printable(string path)
    {
        var builder = new StringBuilder(path.Length);
        foreach (var c in path)
        {
            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
