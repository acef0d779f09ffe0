using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.GraphQL;

/// <summary>Options of the GraphQL transports (<c>/graphql</c>, <c>/graphql/sse</c>, WebSocket), bound from <c>AiWebEngine:GraphQL</c>.</summary>
public sealed class GraphQLOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "AiWebEngine:GraphQL";

    /// <summary>
    /// Idle time after which an event stream gets a keep-alive comment (<c>:</c>), and the interval of
    /// WebSocket ping frames. Default: 12 seconds (the graphql-sse reference server's).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(12);

    /// <summary>
    /// How long a <c>graphql-transport-ws</c> socket may stay open without <c>connection_init</c>
    /// before it is closed with 4408. Default: 3 seconds (the graphql-ws server's).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ConnectionInitWaitTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Frames one event stream or WebSocket may have queued. A client that falls this far behind is
    /// disconnected (its client re-subscribes). Default: 1024.
    /// </summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1024;

    /// <summary>
    /// Operations one <c>graphql-transport-ws</c> socket may run at once (subscriptions, and queries and
    /// mutations until they finish). A <c>subscribe</c> over it is answered with an <c>error</c> for its id
    /// (<c>MAX_OPERATIONS_EXCEEDED</c>); the socket stays open. Default: 100.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxOperationsPerSocket { get; set; } = 100;

    /// <summary>Parsed and validated documents kept per schema; 0 turns the cache off. Default: 1000.</summary>
    [Range(0, 1_000_000)]
    public int DocumentCacheSize { get; set; } = 1000;

    /// <summary>
    /// Deepest nesting an operation may have, counting fields and fragment spreads (<c>{ a { b } }</c> is 2,
    /// <c>{ a { ...F } }</c> with <c>F</c> selecting <c>b</c> is 3). A deeper document is refused before
    /// validation with <c>MAX_DEPTH_EXCEEDED</c>. Default: 25 (graphql-js's full introspection query is 17 deep).
    /// </summary>
    [Range(1, 200)]
    public int MaxDepth { get; set; } = 25;

    /// <summary>
    /// Most fields a document may select, every use of a fragment counted again; this bounds the work of
    /// validating and executing one document. A larger one is refused before validation with
    /// <c>MAX_FIELDS_EXCEEDED</c>. Default: 2000 (the standard introspection query selects about 200).
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxFields { get; set; } = 2000;

    /// <summary>
    /// Most aliased fields a document may select, counted like <see cref="MaxFields"/>: aliases are how a
    /// small document asks for the same expensive field many times. A document with more is refused
    /// before validation with <c>MAX_ALIASES_EXCEEDED</c>. Default: 100.
    /// </summary>
    [Range(0, 1_000_000)]
    public int MaxAliases { get; set; } = 100;

    /// <summary>
    /// The page origins (<c>https://app.example</c>, <c>http://localhost:5173</c>) whose browsers may open
    /// a GraphQL WebSocket on <c>/graphql</c>, besides the server's own origin; <c>*</c> allows every
    /// origin. An upgrade whose <c>Origin</c> is neither is refused with 403 before the socket opens,
    /// because a browser sends the user's cookies with an upgrade from any page (cross-site WebSocket
    /// hijacking) and resolvers see the upgrade's headers. An upgrade without <c>Origin</c> (not a
    /// browser) is accepted. Default: empty (the server's own origin only).
    /// </summary>
    public IList<string> AllowedOrigins { get; } = new List<string>();

    /// <summary>
    /// Largest document (the <c>query</c> text), in UTF-8 bytes. A larger one is refused before it is
    /// parsed with <c>MAX_DOCUMENT_BYTES_EXCEEDED</c>. Default: 64 KiB (graphql-js's full introspection
    /// query is under 2 KiB; variables do not count).
    /// </summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxDocumentBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// Most syntax nodes a document may have (every field, name, argument, value, directive, variable,
    /// selection set…, each fragment definition counted once). A document with more is refused before
    /// validation with <c>MAX_NODES_EXCEEDED</c>. Default: 20 000 (the full introspection query has about 700).
    /// </summary>
    [Range(100, 10_000_000)]
    public int MaxNodes { get; set; } = 20_000;

    /// <summary>
    /// Most directives on one location: a field, fragment spread, inline fragment, operation, fragment
    /// definition or variable. More is refused before validation with <c>MAX_DIRECTIVES_EXCEEDED</c>. Default: 10.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxDirectivesPerField { get; set; } = 10;

    /// <summary>
    /// Most arguments on one field or directive. More is refused before validation with
    /// <c>MAX_ARGUMENTS_EXCEEDED</c>. Default: 50.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxArgumentsPerField { get; set; } = 50;

    /// <summary>
    /// Most arguments in the whole document (of fields and directives). More is refused before
    /// validation with <c>MAX_ARGUMENTS_EXCEEDED</c>: validation compares the arguments of every pair of
    /// fields with the same response name, so its cost grows with the square of this. Default: 500.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxArguments { get; set; } = 500;

    /// <summary>
    /// Most variables one operation may declare. More is refused before validation with
    /// <c>MAX_VARIABLES_EXCEEDED</c>: validation checks each definition against the others and against
    /// every use. Default: 100.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxVariables { get; set; } = 100;

    /// <summary>
    /// Most fragment definitions in one document. More is refused before validation with
    /// <c>MAX_FRAGMENTS_EXCEEDED</c>: validation looks each spread up among the definitions and compares
    /// the fragments spread in one selection set pairwise. Default: 100 (graphql-js's full introspection
    /// query defines 3).
    /// </summary>
    [Range(1, 100_000)]
    public int MaxFragments { get; set; } = 100;

    /// <summary>
    /// Most values in one list literal (<c>[1, 2, 3]</c>), and most fields in one input object literal,
    /// in the document (variables, which arrive as JSON, do not count). More is refused before
    /// validation with <c>MAX_LIST_VALUES_EXCEEDED</c>: a list of the wrong type is checked item by item
    /// and echoed in its error. Default: 1000.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxListValues { get; set; } = 1000;

    /// <summary>
    /// Most errors one result holds; the rest are left out and one last error
    /// (<c>MAX_ERRORS_EXCEEDED</c>) says how many. Default: 100.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxErrors { get; set; } = 100;
}
