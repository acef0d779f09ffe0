using GraphQL;
using GraphQL.Execution;
using GraphQL.Validation;
using GraphQLParser.AST;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Rejects, after validation and before execution, an operation the transport does not run (a mutation
/// over GET, a subscription over a single-response POST), with an <see cref="OperationNotAllowedError"/>.
/// </summary>
/// <remarks>
/// A listener rather than a validation rule, because a cached document skips validation; this runs for
/// every request, after the operation to run has been chosen.
/// </remarks>
internal sealed class OperationKindGuard : DocumentExecutionListenerBase
{
    private static readonly OperationKindGuard[] Guards = [.. Enumerable.Range(0, 8).Select(k => new OperationKindGuard((OperationKinds)k))];

    private readonly OperationKinds _allowed;

    private OperationKindGuard(OperationKinds allowed) => _allowed = allowed;

    public static OperationKindGuard For(OperationKinds allowed) => Guards[(int)allowed & 7];

    public override Task AfterValidationAsync(IExecutionContext context, IValidationResult validationResult)
    {
        if (validationResult.IsValid && !_allowed.Allows(context.Operation.Operation))
        {
            context.Errors.Add(new OperationNotAllowedError(context.Operation.Operation));
        }

        return Task.CompletedTask;
    }
}

/// <summary>The operation's type is not run by the transport it came in on.</summary>
internal sealed class OperationNotAllowedError : ExecutionError
{
    public OperationNotAllowedError(OperationType type)
        : base(type switch
        {
            OperationType.Mutation => "Mutations are not allowed over GET; send them with POST.",
            OperationType.Subscription => "Subscriptions need a stream: use /graphql/sse (or Accept: text/event-stream) or a graphql-transport-ws WebSocket.",
            _ => $"{type} operations are not allowed here.",
        })
    {
        Code = "OPERATION_NOT_ALLOWED";
        Type = type;
    }

    public OperationType Type { get; }
}
