using System.Text;
using GraphQL.Conversion;
using GraphQL.Resolvers;
using GraphQL.Types;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Builds one GraphQL.NET schema from the fields scripts registered: the fragments are merged into
/// one SDL (a type declared identically by several scripts appears once), every root field is bound
/// to its script resolver, and the schema is initialized, so that a bad schema fails here and not
/// on the first request.
/// </summary>
internal sealed class ScriptSchemaBuilder(ScriptFieldResolvers resolvers)
{
    /// <summary>The field <c>Query</c> has while no script registers a query, so that the schema stays valid.</summary>
    public const string PlaceholderField = "_engine";

    public ISchema Build(IReadOnlyCollection<GraphQLField> fields)
    {
        var schema = Schema.For(Compose(fields), builder =>
        {
            foreach (var field in fields)
            {
                var config = builder.Types.For(field.Kind.ToString()).FieldFor(field.Name);
                if (field.Kind == GraphQLFieldKind.Subscription)
                {
                    config.Resolver = new FuncFieldResolver<object?>(static context => context.Source);
                    config.StreamResolver = resolvers.Subscribe(field);
                }
                else
                {
                    config.Resolver = resolvers.Resolve(field);
                }
            }

            foreach (var (typeName, fieldNames) in fields.SelectMany(f => f.Fragment.ObjectFields).DistinctBy(t => t.Key))
            {
                foreach (var fieldName in fieldNames)
                {
                    builder.Types.For(typeName).FieldFor(fieldName).Resolver = JsonFieldResolver.Instance;
                }
            }

            if (!fields.Any(f => f.Kind == GraphQLFieldKind.Query))
            {
                builder.Types.For("Query").FieldFor(PlaceholderField).Resolver = new FuncFieldResolver<string>(static _ => "AiWebEngine");
            }
        });

        // SDL-first: names are served exactly as the scripts wrote them.
        schema.NameConverter = DefaultNameConverter.Instance;
        schema.RegisterType(new IntGraphType());
        schema.RegisterType(new FloatGraphType());
        schema.RegisterType(new IdGraphType());
        schema.RegisterType(new BooleanGraphType());
        schema.RegisterType(new StringGraphType());
        schema.Initialize();
        return schema;
    }

    private static string Compose(IReadOnlyCollection<GraphQLField> fields)
    {
        var sdl = new StringBuilder();
        foreach (var kind in Enum.GetValues<GraphQLFieldKind>())
        {
            var roots = fields.Where(f => f.Kind == kind).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();
            if (roots.Count == 0 && kind != GraphQLFieldKind.Query)
            {
                continue;
            }

            sdl.Append("type ").Append(kind).AppendLine(" {");
            foreach (var field in roots)
            {
                sdl.Append("  ").AppendLine(field.Fragment.Field);
            }

            if (roots.Count == 0)
            {
                sdl.Append("  \"The engine's own field, there while no script registers a query.\"\n  ").Append(PlaceholderField).AppendLine(": String");
            }

            sdl.AppendLine("}");
        }

        var types = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            foreach (var (name, definition) in field.Fragment.Types)
            {
                types.TryAdd(name, definition);
            }
        }

        foreach (var definition in types.Values)
        {
            sdl.AppendLine(definition);
        }

        return sdl.ToString();
    }
}
