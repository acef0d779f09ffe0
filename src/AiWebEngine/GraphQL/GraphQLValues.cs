using System.Text.Json;
using GraphQL.Types;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Turns the JSON a resolver returned into values GraphQL.NET resolves against the selection:
/// objects become dictionaries, arrays lists, numbers stay integers or floats as written, and a
/// non-string value returned for a <c>String</c> field becomes its JSON text (SPEC §5.3).
/// </summary>
internal static class GraphQLValues
{
    public static object? FromJson(string? json, IGraphType? type) =>
        json is null ? null : Convert(JsonSerializer.Deserialize<JsonElement>(json), type);

    /// <summary>
    /// Converts one JSON value for a field of <paramref name="type"/>. Objects stay
    /// <see cref="JsonElement"/>s; their fields are converted when they are selected
    /// (<see cref="JsonFieldResolver"/>), each knowing its own declared type.
    /// </summary>
    public static object? Convert(JsonElement element, IGraphType? type)
    {
        while (type is NonNullGraphType nonNull)
        {
            type = nonNull.ResolvedType;
        }

        if (type is ListGraphType list && element.ValueKind == JsonValueKind.Array)
        {
            var items = new List<object?>(element.GetArrayLength());
            foreach (var item in element.EnumerateArray())
            {
                items.Add(Convert(item, list.ResolvedType));
            }

            return items;
        }

        if (type is StringGraphType && element.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return element.GetRawText();
        }

        return element.ValueKind switch
        {
            JsonValueKind.Object => element,
            JsonValueKind.Array => element.EnumerateArray().Select(item => Convert(item, null)).ToList(),
            JsonValueKind.String => element.GetString(),
            JsonValueKind.Number => element.TryGetInt32(out var small) ? (object)small : element.TryGetInt64(out var large) ? large : element.GetDouble(),
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        };
    }

    /// <summary>Writes resolved argument values and error details (dictionaries, lists, scalars) as JSON.</summary>
    public static void Write(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case string text:
                json.WriteStringValue(text);
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case int or long or short or byte or sbyte or ushort or uint or ulong:
                json.WriteNumberValue(System.Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case float or double or decimal:
                json.WriteNumberValue(System.Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case System.Numerics.BigInteger big:
                json.WriteRawValue(big.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case IEnumerable<KeyValuePair<string, object?>> map:
                json.WriteStartObject();
                foreach (var (key, item) in map)
                {
                    json.WritePropertyName(key);
                    Write(json, item);
                }

                json.WriteEndObject();
                break;
            case System.Collections.IEnumerable items:
                json.WriteStartArray();
                foreach (var item in items)
                {
                    Write(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteStringValue(System.Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}
