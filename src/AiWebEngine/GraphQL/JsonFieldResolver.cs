using System.Text.Json;
using GraphQL;
using GraphQL.Resolvers;

namespace AiWebEngine.GraphQL;

/// <summary>Resolves a field of a script-declared object type from the resolver's JSON object.</summary>
internal sealed class JsonFieldResolver : IFieldResolver
{
    public static JsonFieldResolver Instance { get; } = new();

    public ValueTask<object?> ResolveAsync(IResolveFieldContext context)
    {
        var value = context.Source is JsonElement { ValueKind: JsonValueKind.Object } source && source.TryGetProperty(context.FieldDefinition.Name, out var property)
            ? GraphQLValues.Convert(property, context.FieldDefinition.ResolvedType)
            : null;
        return ValueTask.FromResult(value);
    }
}
