using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace AiWebEngine.GraphQL;

/// <summary>
/// One walk over every syntax node of a parsed document that stops at the first of
/// <see cref="GraphQLOptions.MaxNodes"/>, <see cref="GraphQLOptions.MaxDirectivesPerField"/> and
/// <see cref="GraphQLOptions.MaxArgumentsPerField"/> and <see cref="GraphQLOptions.MaxArguments"/> it
/// breaches, for <see cref="DocumentLimits"/>.
/// </summary>
/// <remarks>
/// These are the parts of a document the depth, field and alias limits do not see, and where
/// GraphQL.NET's validation is quadratic: the rules that keep directives unique per location and
/// arguments unique and known per field compare each with the others, every duplicate is an error of
/// its own, and the rule that fields of one response name can be merged compares the arguments of
/// every pair of such fields (so its cost grows with the square of all the arguments in the document). A node is anything the parser makes (a field, its name, an argument, a value, a
/// directive, a selection set…), each fragment definition counted once, so the count follows the text.
/// The walk's recursion is bounded by the parser's own depth limit.
/// </remarks>
internal sealed class DocumentSize : ASTVisitor<DocumentSize.Context>
{
    public static readonly DocumentSize Instance = new();

    /// <summary>The first limit <paramref name="document"/> breaches, or null.</summary>
    public static Breach? Measure(GraphQLDocument document, GraphQLOptions options)
    {
        var context = new Context(options);
        // Every override completes synchronously (the base visitor awaits nothing else).
        var walk = Instance.VisitAsync(document, context);
        if (!walk.IsCompleted)
        {
            throw new InvalidOperationException("The document walk is expected to complete synchronously.");
        }

        walk.GetAwaiter().GetResult();
        return context.Breach;
    }

    public override ValueTask VisitAsync(ASTNode? node, Context context)
    {
        if (node is null || context.Breach is not null)
        {
            return ValueTask.CompletedTask;
        }

        if (++context.Nodes > context.Options.MaxNodes)
        {
            context.Breach = new Breach(node, "MAX_NODES_EXCEEDED",
                $"The document has more than {context.Options.MaxNodes} syntax nodes (fields, names, arguments, values, directives…); the limit is {context.Options.MaxNodes} (AiWebEngine:GraphQL:MaxNodes).");
            return ValueTask.CompletedTask;
        }

        return base.VisitAsync(node, context);
    }

    protected override ValueTask VisitDirectivesAsync(GraphQLDirectives directives, Context context)
    {
        if (directives.Count > context.Options.MaxDirectivesPerField)
        {
            context.Breach = new Breach(directives.Items[context.Options.MaxDirectivesPerField], "MAX_DIRECTIVES_EXCEEDED",
                $"A field, fragment or operation has {directives.Count} directives; the limit is {context.Options.MaxDirectivesPerField} per location (AiWebEngine:GraphQL:MaxDirectivesPerField).");
            return ValueTask.CompletedTask;
        }

        return base.VisitDirectivesAsync(directives, context);
    }

    protected override ValueTask VisitArgumentsAsync(GraphQLArguments arguments, Context context)
    {
        if (arguments.Count > context.Options.MaxArgumentsPerField)
        {
            context.Breach = new Breach(arguments.Items[context.Options.MaxArgumentsPerField], "MAX_ARGUMENTS_EXCEEDED",
                $"A field or directive has {arguments.Count} arguments; the limit is {context.Options.MaxArgumentsPerField} (AiWebEngine:GraphQL:MaxArgumentsPerField).");
            return ValueTask.CompletedTask;
        }

        context.Arguments += arguments.Count;
        if (context.Arguments > context.Options.MaxArguments)
        {
            context.Breach = new Breach(arguments.Items[0], "MAX_ARGUMENTS_EXCEEDED",
                $"The document has more than {context.Options.MaxArguments} arguments in all; the limit is {context.Options.MaxArguments} (AiWebEngine:GraphQL:MaxArguments).");
            return ValueTask.CompletedTask;
        }

        return base.VisitArgumentsAsync(arguments, context);
    }

    /// <summary>A limit breached at <paramref name="Node"/>.</summary>
    public sealed record Breach(ASTNode Node, string Code, string Message);

    public sealed class Context(GraphQLOptions options) : IASTVisitorContext
    {
        public GraphQLOptions Options { get; } = options;

        public int Nodes { get; set; }

        public int Arguments { get; set; }

        public Breach? Breach { get; set; }

        public CancellationToken CancellationToken => CancellationToken.None;
    }
}
