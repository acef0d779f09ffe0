namespace AiWebEngine.GraphQL;

/// <summary>The schema the transports execute against; replaced atomically when scripts change.</summary>
/// <remarks>
/// The transports read <see cref="Current"/> once per operation, so an operation (and a subscription, for
/// its whole life) runs on the schema it started with while newer requests see the new one.
/// </remarks>
public interface IGraphQLSchemaProvider
{
    /// <summary>The current, initialized schema.</summary>
    global::GraphQL.Types.ISchema Current { get; }
}
