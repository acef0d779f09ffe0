using GraphQL;
using GraphQL.DI;
using GraphQL.Execution;
using GraphQL.Validation;
using GraphQLParser.AST;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Refuses a document that is too large (<see cref="GraphQLOptions.MaxDocumentBytes"/>, before it is
/// parsed), has too many syntax nodes, directives on one location or arguments on one field
/// (<see cref="GraphQLOptions.MaxNodes"/>, <see cref="GraphQLOptions.MaxDirectivesPerField"/>,
/// <see cref="GraphQLOptions.MaxArgumentsPerField"/>, <see cref="GraphQLOptions.MaxVariables"/>,
/// <see cref="GraphQLOptions.MaxFragments"/>, <see cref="GraphQLOptions.MaxListValues"/>, see
/// <see cref="DocumentSize"/>), is too deep, selects
/// too many fields or uses too many aliases (<see cref="GraphQLOptions.MaxDepth"/>,
/// <see cref="GraphQLOptions.MaxFields"/>, <see cref="GraphQLOptions.MaxAliases"/>) before GraphQL.NET
/// validates it; and keeps at most <see cref="GraphQLOptions.MaxErrors"/> errors in any result.
/// </summary>
/// <remarks>
/// Each refusal is one GraphQL error with its code (<c>MAX_…_EXCEEDED</c>) and a result that is not
/// executed, so every transport answers it as it answers a validation error.
/// It runs before validation because validation is where a hostile document costs the most
/// (OverlappingFieldsCanBeMerged compares fields pairwise), and a validation rule would run alongside
/// the others. The measure walks every operation once, fragments expanded at each use, but each fragment
/// definition is walked only once (its counts are remembered), so a document whose fragments double at
/// every level costs time in proportion to its text, not to its expansion. A fragment spread counts as a
/// level, which also bounds how deep a chain of fragments makes the validator recurse.
/// The document it parses is handed on, so it is parsed once; a document that does not parse goes on
/// as it came, and the executer reports the syntax error the usual way. It runs after the
/// <see cref="DocumentCache"/>: a cached document has passed already.
/// </remarks>
internal sealed class DocumentLimits(IOptions<GraphQLOptions> options) : IConfigureExecution
{
    private readonly GraphQLOptions _options = options.Value;

    /// <summary>
    /// The parser of every document, for the executer too. Its own depth limit counts syntax nodes (a
    /// field level is about four), so it is raised to let <see cref="GraphQLOptions.MaxDepth"/> decide;
    /// it still bounds the parser's recursion on a document of nothing but braces.
    /// </summary>
    public GraphQLDocumentBuilder Builder { get; } = new() { MaxDepth = Math.Max(128, (options.Value.MaxDepth * 8) + 32) };

    /// <summary>After the document cache (200), so that a cache hit skips the measure.</summary>
    public float SortOrder => 300;

    public async Task<ExecutionResult> ExecuteAsync(ExecutionOptions options, ExecutionDelegate next)
    {
        if (options.Document is not null || string.IsNullOrEmpty(options.Query))
        {
            return LimitErrors(await next(options));
        }

        // Counted before parsing: a char is at least one UTF-8 byte, so a longer text needs no count.
        var query = options.Query;
        if (query.Length > _options.MaxDocumentBytes || System.Text.Encoding.UTF8.GetByteCount(query) > _options.MaxDocumentBytes)
        {
            return Refused(options, new ExecutionError(
                $"The document is {System.Text.Encoding.UTF8.GetByteCount(query)} bytes (UTF-8); the limit is {_options.MaxDocumentBytes} (AiWebEngine:GraphQL:MaxDocumentBytes).")
            {
                Code = "MAX_DOCUMENT_BYTES_EXCEEDED",
            }, document: null);
        }

        GraphQLDocument document;
        try
        {
            document = Builder.Build(options.Query);
        }
        catch (Exception)
        {
            // Not a document (or too deeply nested to parse): the executer parses it again and
            // answers with its own syntax error.
            return await next(options);
        }

        if (DocumentSize.Measure(document, _options) is { } breach)
        {
            return Refused(options, Error(document, breach.Node, breach.Code, breach.Message), document);
        }

        if (Measure(document) is { } error)
        {
            return Refused(options, error, document);
        }

        options.Document = document;
        return LimitErrors(await next(options));
    }

    private static ExecutionResult Refused(ExecutionOptions options, ExecutionError error, GraphQLDocument? document) =>
        new() { Errors = [error], Query = options.Query, Document = document };

    /// <summary>
    /// Keeps the first <see cref="GraphQLOptions.MaxErrors"/> errors of <paramref name="result"/> and says
    /// how many were left out: a document within every limit can still fail in many places (a resolver
    /// that throws for each item of a long list), and the response should not grow with that.
    /// </summary>
    private ExecutionResult LimitErrors(ExecutionResult result)
    {
        if (result.Errors is not { } errors || errors.Count <= _options.MaxErrors)
        {
            return result;
        }

        var kept = new ExecutionErrors();
        for (var i = 0; i < _options.MaxErrors; i++)
        {
            kept.Add(errors[i]);
        }

        kept.Add(new ExecutionError(
            $"{errors.Count - _options.MaxErrors} more errors were left out; a response holds at most {_options.MaxErrors} (AiWebEngine:GraphQL:MaxErrors).")
        {
            Code = "MAX_ERRORS_EXCEEDED",
        });
        result.Errors = kept;
        return result;
    }

    private ValidationError? Measure(GraphQLDocument document)
    {
        var walker = new Walker(document, _options.MaxDepth);
        long fields = 0, aliases = 0;
        try
        {
            foreach (var operation in document.Definitions.OfType<GraphQLOperationDefinition>())
            {
                var stats = walker.Visit(operation.SelectionSet, 1);
                fields = Walker.Add(fields, stats.Fields);
                aliases = Walker.Add(aliases, stats.Aliases);
            }
        }
        catch (DepthExceededException e)
        {
            return Error(document, e.Node, "MAX_DEPTH_EXCEEDED",
                $"The document is more than {_options.MaxDepth} levels deep (fields and fragment spreads); the limit is {_options.MaxDepth} (AiWebEngine:GraphQL:MaxDepth).");
        }

        if (fields > _options.MaxFields)
        {
            return Error(document, null, "MAX_FIELDS_EXCEEDED",
                $"The document selects {Count(fields)} fields (a fragment counts at every use); the limit is {_options.MaxFields} (AiWebEngine:GraphQL:MaxFields).");
        }

        if (aliases > _options.MaxAliases)
        {
            return Error(document, null, "MAX_ALIASES_EXCEEDED",
                $"The document selects {Count(aliases)} aliased fields (a fragment counts at every use); the limit is {_options.MaxAliases} (AiWebEngine:GraphQL:MaxAliases).");
        }

        return null;
    }

    private static string Count(long value) => value >= Walker.Cap ? "too many" : value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static ValidationError Error(GraphQLDocument document, ASTNode? node, string code, string message)
    {
        var error = node is null
            ? new ValidationError(document.Source, code, message)
            : new ValidationError(document.Source, code, message, node);
        error.Code = code;
        return error;
    }

    private sealed class DepthExceededException(ASTNode node) : Exception
    {
        public ASTNode Node { get; } = node;
    }

    private readonly record struct Stats(long Fields, long Aliases, int MaxLevel);

    /// <summary>Counts fields and aliases and finds the deepest level, each fragment walked once.</summary>
    private sealed class Walker(GraphQLDocument document, int maxDepth)
    {
        // Counts saturate here, so fragments that double at every level cannot overflow a long.
        public const long Cap = long.MaxValue / 4;

        private readonly Dictionary<string, GraphQLFragmentDefinition> _fragments = Fragments(document);
        // A fragment's counts and how many levels it spans below the spread that uses it.
        private readonly Dictionary<string, (long Fields, long Aliases, int Levels)> _measured = new(StringComparer.Ordinal);
        private readonly HashSet<string> _inProgress = new(StringComparer.Ordinal);

        public static long Add(long a, long b) => Math.Min(a + b, Cap);

        /// <summary>Measures <paramref name="set"/>, whose fields are at <paramref name="level"/>.</summary>
        public Stats Visit(GraphQLSelectionSet set, int level)
        {
            long fields = 0, aliases = 0;
            var maxLevel = level - 1;
            foreach (var selection in set.Selections)
            {
                Stats inner;
                switch (selection)
                {
                    case GraphQLParser.AST.GraphQLField field:
                        if (level > maxDepth)
                        {
                            throw new DepthExceededException(field);
                        }

                        inner = field.SelectionSet is { } children ? Visit(children, level + 1) : new Stats(0, 0, level);
                        inner = inner with
                        {
                            Fields = Add(inner.Fields, 1),
                            Aliases = field.Alias is null ? inner.Aliases : Add(inner.Aliases, 1),
                            MaxLevel = Math.Max(inner.MaxLevel, level),
                        };
                        break;
                    case GraphQLInlineFragment inline:
                        inner = Visit(inline.SelectionSet, level);
                        break;
                    case GraphQLFragmentSpread spread:
                        inner = Spread(spread, level);
                        break;
                    default:
                        continue;
                }

                fields = Add(fields, inner.Fields);
                aliases = Add(aliases, inner.Aliases);
                maxLevel = Math.Max(maxLevel, inner.MaxLevel);
            }

            return new Stats(fields, aliases, maxLevel);
        }

        // The spread is a level of its own: its fragment's fields are one level below it.
        private Stats Spread(GraphQLFragmentSpread spread, int level)
        {
            if (level > maxDepth)
            {
                throw new DepthExceededException(spread);
            }

            var name = spread.FragmentName.Name.StringValue;
            if (_measured.TryGetValue(name, out var known))
            {
                if (level + known.Levels > maxDepth)
                {
                    throw new DepthExceededException(spread);
                }

                return new Stats(known.Fields, known.Aliases, level + known.Levels);
            }

            // An unknown fragment or a cycle is the validator's to report; it counts as nothing here.
            if (!_fragments.TryGetValue(name, out var fragment) || !_inProgress.Add(name))
            {
                return new Stats(0, 0, level);
            }

            var stats = Visit(fragment.SelectionSet, level + 1);
            _inProgress.Remove(name);
            var levels = Math.Max(stats.MaxLevel, level) - level;
            _measured[name] = (stats.Fields, stats.Aliases, levels);
            return new Stats(stats.Fields, stats.Aliases, level + levels);
        }

        private static Dictionary<string, GraphQLFragmentDefinition> Fragments(GraphQLDocument document)
        {
            var fragments = new Dictionary<string, GraphQLFragmentDefinition>(StringComparer.Ordinal);
            foreach (var fragment in document.Definitions.OfType<GraphQLFragmentDefinition>())
            {
                fragments.TryAdd(fragment.FragmentName.Name.StringValue, fragment);
            }

            return fragments;
        }
    }
}
