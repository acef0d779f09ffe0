using System.Security.Claims;
using AiWebEngine.Diagnostics.Metrics;
using AiWebEngine.GraphQL.Subscriptions;
using GraphQL;
using GraphQL.Execution;
using GraphQL.Transport;
using GraphQL.Types;
using GraphQL.Validation;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Runs GraphQL operations for every transport: GraphQL.NET's <see cref="DocumentExecuter"/> with the
/// <see cref="DocumentCache"/> and the <see cref="DocumentLimits"/>, against the schema <see cref="IGraphQLSchemaProvider"/> holds now.
/// </summary>
internal sealed partial class GraphQLExecutor
{
    private readonly DocumentExecuter _executer;
    private readonly IGraphQLSchemaProvider _schemas;
    private readonly ILogger<GraphQLExecutor> _logger;
    private readonly EngineMetrics? _metrics;
    private readonly bool _exposeCredentials;

    public GraphQLExecutor(IGraphQLSchemaProvider schemas, DocumentCache cache, DocumentLimits limits, GraphQLJson json, ILogger<GraphQLExecutor> logger, EngineMetrics? metrics = null, Microsoft.Extensions.Options.IOptions<Scripting.ScriptOptions>? scripts = null)
    {
        _exposeCredentials = scripts?.Value.ExposeCredentials ?? false;
        _metrics = metrics;
        _schemas = schemas;
        _executer = new DocumentExecuter(limits.Builder, new DocumentValidator(), new DefaultExecutionStrategySelector(), [cache, limits]);
        Json = json;
        _logger = logger;
    }

    /// <summary>The serializer every transport writes results with.</summary>
    public GraphQLJson Json { get; }

    /// <summary>The schema an operation starting now runs on.</summary>
    public ISchema CurrentSchema => _schemas.Current;

    /// <summary>
    /// Runs <paramref name="request"/> on <paramref name="schema"/>; script resolvers see
    /// <paramref name="headers"/> (the HTTP request's, or the WebSocket upgrade's) in <c>context.headers</c>;
    /// <paramref name="role"/> asks a script subscription for one part of itself (see <see cref="GraphQLOperations"/>). An operation whose type is not in
    /// <paramref name="allowed"/> is not run: its result is not <see cref="ExecutionResult.Executed"/> and
    /// holds an <see cref="OperationNotAllowedError"/>.
    /// </summary>
    /// <returns>
    /// The result: not <see cref="ExecutionResult.Executed"/> for a document, validation or variable error;
    /// with <see cref="ExecutionResult.Streams"/> for a subscription.
    /// </returns>
    public async Task<ExecutionResult> ExecuteAsync(
        ISchema schema,
        GraphQLRequest request,
        OperationKinds allowed,
        IServiceProvider services,
        ClaimsPrincipal? user,
        IHeaderDictionary? headers,
        SubscriptionRole? role,
        CancellationToken cancellationToken,
        string? client = null)
    {
        var options = new ExecutionOptions
        {
            Schema = schema,
            Query = request.Query,
            OperationName = request.OperationName,
            Variables = request.Variables,
            Extensions = request.Extensions,
            RequestServices = services,
            User = user,
            CancellationToken = cancellationToken,
            UnhandledExceptionDelegate = OnUnhandledException,
        };
        if (headers is not null)
        {
            options.UserContext[ScriptFieldResolvers.HeadersKey] = LowerCaseHeaders(headers, _exposeCredentials);
        }

        if (client is not null)
        {
            options.UserContext[ScriptFieldResolvers.ClientKey] = client;
        }

        if (role is not null)
        {
            options.UserContext[SubscriptionRole.Key] = role;
        }

        options.Listeners.Add(OperationKindGuard.For(allowed));
        var result = await _executer.ExecuteAsync(options);
        _metrics?.GraphQLOperation(OperationTypeOf(result), result.Executed);
        return result;
    }

    private static string OperationTypeOf(ExecutionResult result) => result.Operation?.Operation switch
    {
        global::GraphQLParser.AST.OperationType.Query => "query",
        global::GraphQLParser.AST.OperationType.Mutation => "mutation",
        global::GraphQLParser.AST.OperationType.Subscription => "subscription",
        _ => "unknown",
    };

    /// <summary>The request headers as resolvers see them in <c>context.headers</c>: lower-case names, comma-joined values.</summary>
    /// <remarks>The credential headers are left out unless <see cref="Scripting.ScriptOptions.ExposeCredentials"/> (scripts see <c>context.user</c>).</remarks>
    private static KeyValuePair<string, string>[] LowerCaseHeaders(IHeaderDictionary headers, bool exposeCredentials)
    {
        var copy = new KeyValuePair<string, string>[headers.Count];
        var i = 0;
        foreach (var (name, value) in headers)
        {
            if (!exposeCredentials && Security.Credentials.IsCredentialHeader(name))
            {
                continue;
            }

            copy[i++] = KeyValuePair.Create(LowerCaseNames.Of(name), value.ToString());
        }

        return i == copy.Length ? copy : copy[..i];
    }

    /// <summary>
    /// Lower-case header names, remembered: the server hands the same name strings over request after
    /// request, so each is lowered once. Bounded, so that clients sending made-up names cannot grow it.
    /// </summary>
    private static class LowerCaseNames
    {
        private const int Capacity = 1024;
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> Known = new(StringComparer.Ordinal);

        public static string Of(string name)
        {
            if (Known.TryGetValue(name, out var lower))
            {
                return lower;
            }

            lower = name.ToLowerInvariant();
            if (Known.Count < Capacity)
            {
                Known.TryAdd(name, lower);
            }

            return lower;
        }
    }

    private Task OnUnhandledException(UnhandledExceptionContext context)
    {
        ResolverFailed(_logger, context.Context?.Operation.Name?.StringValue ?? "(anonymous)", context.Exception);
        return Task.CompletedTask;
    }

    /// <summary>Whether <paramref name="result"/> was refused for its operation type.</summary>
    public static bool IsOperationNotAllowed(ExecutionResult result) =>
        !result.Executed && result.Errors is { Count: > 0 } errors && errors.Any(e => e is OperationNotAllowedError);

    /// <summary>Whether <paramref name="result"/> was refused because its operation is a <paramref name="type"/>.</summary>
    public static bool IsOperationNotAllowed(ExecutionResult result, global::GraphQLParser.AST.OperationType type) =>
        !result.Executed && result.Errors is { Count: > 0 } errors && errors.Any(e => e is OperationNotAllowedError refused && refused.Type == type);

    [LoggerMessage(EventId = 1400, Level = LogLevel.Error, Message = "GraphQL operation {OperationName} failed with an unhandled error")]
    private static partial void ResolverFailed(ILogger logger, string operationName, Exception exception);
}
