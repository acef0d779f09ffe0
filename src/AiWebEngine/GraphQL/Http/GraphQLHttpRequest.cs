using System.Text.Json;
using AiWebEngine.Errors;
using AiWebEngine.Routing;
using GraphQL;
using GraphQL.Transport;

namespace AiWebEngine.GraphQL.Http;

/// <summary>Why a request could not be read: the status to answer and what to say.</summary>
/// <param name="IsGraphQLError">
/// Whether the body is a GraphQL response (<c>{"errors":[…]}</c>, for a malformed GraphQL request) rather
/// than the engine's JSON error (for a request HTTP itself rejects: 413, 415).
/// </param>
internal sealed record GraphQLRequestProblem(int Status, string Code, string Message, bool IsGraphQLError);

/// <summary>Reads the GraphQL request of a POST (JSON body) or GET (query string), and writes request problems.</summary>
internal static class GraphQLHttpRequest
{
    /// <summary>Reads the request of <paramref name="context"/>; exactly one of the two results is set.</summary>
    public static async Task<(GraphQLRequest? Request, GraphQLRequestProblem? Problem)> ReadAsync(HttpContext context, GraphQLJson json, int maxBodyBytes)
    {
        var http = context.Request;
        if (HttpMethods.IsGet(http.Method))
        {
            return GraphQLRequestReader.TryRead(http.Query, json, out var fromQuery, out var queryError)
                ? (fromQuery, null)
                : (null, BadRequest(queryError));
        }

        if (!ResponseMediaTypes.IsJsonBody(http.ContentType))
        {
            return (null, new GraphQLRequestProblem(StatusCodes.Status415UnsupportedMediaType, ErrorCodes.UnsupportedMediaType,
                $"A GraphQL POST needs 'Content-Type: application/json' (UTF-8), not '{http.ContentType}'.", IsGraphQLError: false));
        }

        var body = await ScriptRequest.ReadBodyAsync(context, maxBodyBytes);

        if (body is null)
        {
            return (null, new GraphQLRequestProblem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge,
                $"The request body is larger than {maxBodyBytes} bytes (AiWebEngine:Http:MaxRequestBodyBytes).", IsGraphQLError: false));
        }

        if (body.Length == 0)
        {
            return (null, BadRequest("The request body is empty: send {\"query\": \"…\"}."));
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return GraphQLRequestReader.TryRead(document.RootElement, json, out var request, out var error)
                ? (request, null)
                : (null, BadRequest(error));
        }
        catch (JsonException e)
        {
            return (null, BadRequest($"The request body is not valid JSON: {e.Message}"));
        }
    }

    /// <summary>Writes <paramref name="problem"/>, as a GraphQL result in <paramref name="mediaType"/> or as the engine's JSON error.</summary>
    public static Task WriteAsync(HttpContext context, GraphQLRequestProblem problem, ResponseMediaType mediaType, GraphQLJson json)
    {
        if (!problem.IsGraphQLError)
        {
            return ErrorResponse.WriteAsync(context, problem.Status, problem.Code, problem.Message);
        }

        var result = new ExecutionResult(new ExecutionError(problem.Message) { Code = problem.Code });
        return WriteResultAsync(context, result, problem.Status, mediaType, json);
    }

    /// <summary>Writes one GraphQL result as the whole response.</summary>
    public static async Task WriteResultAsync(HttpContext context, ExecutionResult result, int status, ResponseMediaType mediaType, GraphQLJson json)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = ResponseMediaTypes.ContentType(mediaType);
        json.Write(response.BodyWriter, result);
        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static GraphQLRequestProblem BadRequest(string message) =>
        new(StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, message, IsGraphQLError: true);
}
