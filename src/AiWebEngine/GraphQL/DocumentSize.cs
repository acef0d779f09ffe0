using GraphQLParser.AST;
using GraphQLParser.Visitors;

namespace AiWebEngine.GraphQL;

/// <summary>
/// One walk over every syntax node of a parsed document that stops at the first of
/// <see cref="GraphQLOptions.MaxNodes"/>, <see cref="GraphQLOptions.MaxDirectivesPerField"/>,
/// <see cref="GraphQLOptions.MaxArgumentsPerField"/>, <see cref="GraphQLOptions.MaxArguments"/>,
/// <see cref="GraphQLOptions.MaxVariables"/>, <see cref="GraphQLOptions.MaxFragments"/> and
/// <see cref="GraphQLOptions.MaxListValues"/> it breaches, for <see cref="DocumentLimits"/>.
/// </summary>
/// <remarks>
/// These are the parts of a document the depth, field and alias limits do not see, and where
/// GraphQL.NET's validation is quadratic: the rules that keep directives unique per location and
/// arguments unique and known per field compare each with the others, every duplicate is an error of
/// its own, and the rule that fields of one response name can be merged compares the arguments of
/// every pair of such fields (so its cost grows with the square of all the arguments in the document).
/// The same holds for variables (each definition is checked against the others and against every use),
/// fragment definitions (each spread is looked up among them, and fragments spread side by side are
/// compared pairwise) and the items of one list or input object literal (a wrong-typed list is checked
/// item by item and echoed whole in its error). A node is anything the parser makes (a field, its name, an argument, a value, a
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

    protected override ValueTask VisitVariablesDefinitionAsync(GraphQLVariablesDefinition variablesDefinition, Context context)
    {
        // Per operation: each operation of a document declares its own variables.
        if (variablesDefinition.Count > context.Options.MaxVariables)
        {
            context.Breach = new Breach(variablesDefinition.Items[context.Options.MaxVariables], "MAX_VARIABLES_EXCEEDED",
                $"An operation declares {variablesDefinition.Count} variables; the limit is {context.Options.MaxVariables} per operation (AiWebEngine:GraphQL:MaxVariables).");
            return ValueTask.CompletedTask;
        }

        return base.VisitVariablesDefinitionAsync(variablesDefinition, context);
    }

    protected override ValueTask VisitFragmentDefinitionAsync(GraphQLFragmentDefinition fragmentDefinition, Context context)
    {
        if (++context.Fragments > context.Options.MaxFragments)
        {
            context.Breach = new Breach(fragmentDefinition, "MAX_FRAGMENTS_EXCEEDED",
                $"The document defines more than {context.Options.MaxFragments} fragments; the limit is {context.Options.MaxFragments} (AiWebEngine:GraphQL:MaxFragments).");
            return ValueTask.CompletedTask;
        }

        return base.VisitFragmentDefinitionAsync(fragmentDefinition, context);
    }

    // Checked before the items are walked, so a long list is refused for its length, not its nodes.
    protected override ValueTask VisitListValueAsync(GraphQLListValue listValue, Context context)
    {
        if (listValue.Values is { } values && values.Count > context.Options.MaxListValues)
        {
            context.Breach = new Breach(values[context.Options.MaxListValues], "MAX_LIST_VALUES_EXCEEDED",
                $"A list literal has {values.Count} values; the limit is {context.Options.MaxListValues} per list or input object (AiWebEngine:GraphQL:MaxListValues).");
            return ValueTask.CompletedTask;
        }

        return base.VisitListValueAsync(listValue, context);
    }

    protected override ValueTask VisitObjectValueAsync(GraphQLObjectValue objectValue, Context context)
    {
        if (objectValue.Fields is { } fields && fields.Count > context.Options.MaxListValues)
        {
            context.Breach = new Breach(fields[context.Options.MaxListValues], "MAX_LIST_VALUES_EXCEEDED",
                $"An input object literal has {fields.Count} fields; the limit is {context.Options.MaxListValues} per list or input object (AiWebEngine:GraphQL:MaxListValues).");
            return ValueTask.CompletedTask;
        }

        return base.VisitObjectValueAsync(objectValue, context);
    }

    /// <summary>A limit breached at <paramref name="Node"/>.</summary>
    public sealed record Breach(ASTNode Node, string Code, string Message);

    public sealed class Context(GraphQLOptions options) : IASTVisitorContext
    {
        public GraphQLOptions Options { get; } = options;

        public int Nodes { get; set; }

        public int Arguments { get; set; }

        public int Fragments { get; set; }

        public Breach? Breach { get; set; }

        public CancellationToken CancellationToken => CancellationToken.None;
    }
}
