using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;
using GraphQLParser.Visitors;

namespace AiWebEngine.GraphQL;

/// <summary>The root type a script field is added to.</summary>
public enum GraphQLFieldKind
{
    Query,
    Mutation,
    Subscription,
}

/// <summary>
/// One script's SDL fragment for one root field: the field's definition, and the object, input and
/// enum types the fragment declares, each printed in a normal form so that identical declarations
/// from several scripts can be merged and different ones reported.
/// </summary>
internal sealed class GraphQLFragment
{
    private GraphQLFragment(GraphQLFieldKind kind, string name, string field, IReadOnlyDictionary<string, string> types, string sdl, IReadOnlyDictionary<string, string[]> objectFields)
    {
        ObjectFields = objectFields;
        Kind = kind;
        Name = name;
        Field = field;
        Types = types;
        Sdl = sdl;
    }

    public GraphQLFieldKind Kind { get; }

    /// <summary>The root field's name.</summary>
    public string Name { get; }

    /// <summary>The printed field definition (<c>hello(name: String): String</c>).</summary>
    public string Field { get; }

    /// <summary>Declared type name → its printed definition.</summary>
    public IReadOnlyDictionary<string, string> Types { get; }

    /// <summary>Object type name → its field names (their values come from the resolver's JSON).</summary>
    public IReadOnlyDictionary<string, string[]> ObjectFields { get; }

    /// <summary>The fragment as the script wrote it.</summary>
    public string Sdl { get; }

    public static GraphQLFragment? TryParse(GraphQLFieldKind kind, string name, string sdl, out string? error)
    {
        error = null;
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(sdl);
        }
        catch (GraphQLSyntaxErrorException e)
        {
            error = $"the SDL does not parse: {e.Message}";
            return null;
        }

        var root = kind.ToString();
        string? field = null;
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var objectFields = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLObjectTypeDefinition { Name.StringValue: "Query" or "Mutation" or "Subscription" } rootType:
                    if (rootType.Name.StringValue != root)
                    {
                        error = $"the SDL declares type {rootType.Name.StringValue}; a {Describe(kind)} fragment adds one field to type {root}";
                        return null;
                    }

                    foreach (var candidate in rootType.Fields?.Items ?? [])
                    {
                        if (candidate.Name.StringValue != name)
                        {
                            error = $"the SDL declares field {root}.{candidate.Name.StringValue}, but the field being registered is '{name}'";
                            return null;
                        }

                        field = Print(candidate);
                    }

                    break;
                case GraphQLObjectTypeExtension { Name.StringValue: "Query" or "Mutation" or "Subscription" } extension:
                    error = $"write 'type {extension.Name.StringValue} {{ … }}', not 'extend type'; the engine merges the fragments";
                    return null;
                case GraphQLObjectTypeDefinition or GraphQLInputObjectTypeDefinition or GraphQLEnumTypeDefinition or GraphQLInterfaceTypeDefinition or GraphQLUnionTypeDefinition or GraphQLScalarTypeDefinition:
                    var typeName = ((GraphQLTypeDefinition)definition).Name.StringValue;
                    if (definition is GraphQLObjectTypeDefinition objectType)
                    {
                        objectFields[typeName] = [.. (objectType.Fields?.Items ?? []).Select(f => f.Name.StringValue)];
                    }

                    if (!types.TryAdd(typeName, Print(definition)))
                    {
                        error = $"the SDL declares type {typeName} twice";
                        return null;
                    }

                    break;
                default:
                    error = $"the SDL may declare the {root} field and object, input, enum, interface, union and scalar types; it also has a {definition.Kind}";
                    return null;
            }
        }

        if (field is null)
        {
            error = $"the SDL must declare the field: type {root} {{ {name}: … }}";
            return null;
        }

        return new GraphQLFragment(kind, name, field, types, sdl, objectFields);
    }

    public static string Describe(GraphQLFieldKind kind) => kind switch
    {
        GraphQLFieldKind.Query => "query",
        GraphQLFieldKind.Mutation => "mutation",
        _ => "subscription",
    };

    private static string Print(ASTNode node) => new SDLPrinter(new SDLPrinterOptions { PrintComments = false, PrintDescriptions = true }).Print(node).Trim();
}
