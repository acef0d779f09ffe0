using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using GraphQL;
using GraphQL.DI;
using GraphQL.Types;
using GraphQL.Validation;
using GraphQLParser.AST;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Parsed and validated documents, keyed by (schema instance, query text): a hit skips parsing and
/// validation, which dominate the cost of a small operation.
/// </summary>
/// <remarks>
/// Keyed by schema instance, a schema swap starts an empty cache and the old one goes with the old
/// schema (a <see cref="ConditionalWeakTable{TKey,TValue}"/> holds it no longer than the schema lives).
/// Only documents that passed validation are kept; none of the standard rules depends on variables,
/// so a cached document needs no second validation. A full cache is cleared, which bounds it without
/// bookkeeping per hit. GraphQL.NET's own <c>MemoryDocumentCache</c> is not used: it ships in a
/// package of its own (GraphQL.MemoryCache, not GraphQL), and it keys by query text alone, so after a
/// schema swap a document validated against the old schema would run unvalidated on the new one.
/// </remarks>
internal sealed class DocumentCache(IOptions<GraphQLOptions> options) : IConfigureExecution
{
    private readonly ConditionalWeakTable<ISchema, ConcurrentDictionary<string, GraphQLDocument>> _bySchema = [];
    private readonly int _capacity = options.Value.DocumentCacheSize;

    /// <summary>Runs after the other configurations, like GraphQL.NET's own memory cache.</summary>
    public float SortOrder => 200;

    /// <summary>Documents cached for <paramref name="schema"/>.</summary>
    public int CountFor(ISchema schema) => _bySchema.TryGetValue(schema, out var documents) ? documents.Count : 0;

    public async Task<ExecutionResult> ExecuteAsync(ExecutionOptions options, ExecutionDelegate next)
    {
        if (_capacity == 0 || options.Document is not null || options.Query is not { } query || options.Schema is not { } schema)
        {
            return await next(options);
        }

        var documents = _bySchema.GetValue(schema, static _ => new ConcurrentDictionary<string, GraphQLDocument>(StringComparer.Ordinal));
        var hit = documents.TryGetValue(query, out var document);
        if (hit)
        {
            options.Document = document;
            options.ValidationRules = options.CachedDocumentValidationRules ?? [];
        }

        var result = await next(options);
        if (!hit && result.Executed && result.Document is not null)
        {
            if (documents.Count >= _capacity)
            {
                documents.Clear();
            }

            documents.TryAdd(query, result.Document);
        }

        return result;
    }
}
