namespace AiWebEngine.Hosting;

/// <summary>Short command-line switches for the configuration keys users set most.</summary>
internal static class CommandLineAliases
{
    public static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--scripts"] = "AiWebEngine:Scripts:Path",
    };
}
