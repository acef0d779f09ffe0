using GraphQLParser.AST;

namespace AiWebEngine.GraphQL;

/// <summary>The operation types a transport runs.</summary>
[Flags]
internal enum OperationKinds
{
    None = 0,
    Query = 1,
    Mutation = 2,
    Subscription = 4,
    QueryAndMutation = Query | Mutation,
    All = Query | Mutation | Subscription,
}

internal static class OperationKindsExtensions
{
    public static bool Allows(this OperationKinds kinds, OperationType type) => type switch
    {
        OperationType.Query => (kinds & OperationKinds.Query) != 0,
        OperationType.Mutation => (kinds & OperationKinds.Mutation) != 0,
        OperationType.Subscription => (kinds & OperationKinds.Subscription) != 0,
        _ => false,
    };
}
