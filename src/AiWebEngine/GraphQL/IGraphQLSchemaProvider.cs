namespace AiWebEngine.GraphQL;

/// <summary>The schema the transports execute against; replaced atomically when scripts change.</summary>
public interface IGraphQLSchemaProvider
{
    global::GraphQL.Types.ISchema Current { get; }
}
