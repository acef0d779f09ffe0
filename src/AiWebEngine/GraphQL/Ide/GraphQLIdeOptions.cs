using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.GraphQL.Ide;

/// <summary>Options of the Banana Cake Pop IDE served at <c>GET /graphql</c>, bound from <c>AiWebEngine:GraphQL:Ide</c>.</summary>
public sealed class GraphQLIdeOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:GraphQL:Ide";

    /// <summary>
    /// Whether a browser's <c>GET /graphql</c> gets the IDE, and <c>/graphql/static/…</c>,
    /// <c>/graphql/bcp-config.json</c> and the IDE's other files are served. When false, <c>/graphql</c>
    /// answers browsers as it answers any client. Default: true.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The directory that holds the IDE's files (<c>index.html</c>, <c>static/</c>, …); a relative path is
    /// resolved from the application's directory. Default: <c>ide</c>, where the build copies the npm
    /// package <c>@chillicream/bananacakepop-graphql-ide</c>.
    /// </summary>
    [Required]
    public string FilesPath { get; set; } = "ide";
}
