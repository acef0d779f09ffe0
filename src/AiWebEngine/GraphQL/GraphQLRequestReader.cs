using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using GraphQL;
using GraphQL.Transport;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Reads a GraphQL request (<c>query</c>, <c>operationName</c>, <c>variables</c>, <c>extensions</c>)
/// from a JSON body or a query string, strictly: a parameter of the wrong type is an error the
/// transport answers with 400 before anything runs.
/// </summary>
internal static class GraphQLRequestReader
{
    /// <summary>Reads a request from a JSON document (a POST body or a WebSocket <c>subscribe</c> payload).</summary>
    public static bool TryRead(JsonElement body, GraphQLJson json, [NotNullWhen(true)] out GraphQLRequest? request, [NotNullWhen(false)] out string? error)
    {
        request = null;
        if (body.ValueKind != JsonValueKind.Object)
        {
            error = "The request must be a JSON object with a 'query' string.";
            return false;
        }

        string? query = null, operationName = null;
        Inputs? variables = null, extensions = null;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "query" when value.ValueKind == JsonValueKind.String:
                    query = value.GetString();
                    break;
                case "query":
                    error = "'query' must be a string.";
                    return false;
                case "operationName" when value.ValueKind is JsonValueKind.String or JsonValueKind.Null:
                    operationName = value.GetString();
                    break;
                case "variables" or "extensions" when value.ValueKind is JsonValueKind.Object or JsonValueKind.Null:
                    var inputs = value.ValueKind == JsonValueKind.Null ? null : json.ReadInputs(value);
                    if (property.NameEquals("variables"u8))
                    {
                        variables = inputs;
                    }
                    else
                    {
                        extensions = inputs;
                    }

                    break;
                case "operationName":
                    error = "'operationName' must be a string or null.";
                    return false;
                case "variables" or "extensions":
                    error = $"'{property.Name}' must be a JSON object or null.";
                    return false;
            }
        }

        return Create(query, operationName, variables, extensions, out request, out error);
    }

    /// <summary>Reads a request from a GET query string; <c>variables</c> and <c>extensions</c> are JSON text.</summary>
    public static bool TryRead(IQueryCollection parameters, GraphQLJson json, [NotNullWhen(true)] out GraphQLRequest? request, [NotNullWhen(false)] out string? error)
    {
        request = null;
        Inputs? variables = null, extensions = null;
        if (!TryReadObject(parameters, "variables", json, ref variables, out error) || !TryReadObject(parameters, "extensions", json, ref extensions, out error))
        {
            return false;
        }

        var operationName = parameters["operationName"].ToString();
        return Create(parameters["query"].Count > 0 ? parameters["query"].ToString() : null, operationName.Length == 0 ? null : operationName, variables, extensions, out request, out error);
    }

    private static bool TryReadObject(IQueryCollection parameters, string name, GraphQLJson json, ref Inputs? inputs, [NotNullWhen(false)] out string? error)
    {
        error = null;
        var text = parameters[name].ToString();
        if (text.Length == 0)
        {
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            switch (document.RootElement.ValueKind)
            {
                case JsonValueKind.Object:
                    inputs = json.ReadInputs(document.RootElement);
                    return true;
                case JsonValueKind.Null:
                    return true;
            }
        }
        catch (JsonException)
        {
            // Answered below, as for any value that is not an object.
        }

        error = $"'{name}' must be a URL-encoded JSON object.";
        return false;
    }

    private static bool Create(string? query, string? operationName, Inputs? variables, Inputs? extensions, [NotNullWhen(true)] out GraphQLRequest? request, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(query))
        {
            request = null;
            error = "The request has no 'query': send the GraphQL document as a string in 'query'.";
            return false;
        }

        request = new GraphQLRequest { Query = query, OperationName = operationName, Variables = variables, Extensions = extensions };
        error = null;
        return true;
    }
}
