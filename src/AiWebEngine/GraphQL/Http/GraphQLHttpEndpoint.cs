using AiWebEngine.Errors;
using AiWebEngine.Routing;
using GraphQL;
using GraphQL.Transport;
using GraphQL.Types;
using GraphQLParser.AST;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.Http;

/// <summary>
/// GraphQL over HTTP on <c>/graphql</c> (https://graphql.github.io/graphql-over-http/draft/): POST with a
/// JSON body runs queries and mutations, GET with a query string runs queries; one result per request.
/// </summary>
/// <remarks>
/// Status codes follow the draft and its <c>graphql-http</c> audits: under
/// <c>application/graphql-response+json</c> a document, validation or variable error is 400 (and the
/// result has no <c>data</c>); under <c>application/json</c> every well-formed request is 200. A mutation
/// over GET is 405 with <c>Allow: POST</c>; a POST that is not JSON is 415; malformed parameters are 400.
/// </remarks>
internal sealed class GraphQLHttpEndpoint(GraphQLExecutor executor, IOptions<HttpOptions> http)
{
    private readonly int _maxBodyBytes = http.Value.MaxRequestBodyBytes;

    /// <summary>Answers one request with one result.</summary>
    /// <param name="context">The request.</param>
    /// <param name="subscriptionStream">
    /// Where a subscription goes instead (the event-stream transport, when the client accepts
    /// <c>text/event-stream</c>), handed the request already read; null: a subscription is refused.
    /// </param>
    public async Task HandleAsync(HttpContext context, Func<HttpContext, GraphQLRequest, Task>? subscriptionStream = null)
    {
        var mediaType = ResponseMediaTypes.Negotiate(context.Request.Headers.Accept);
        if (mediaType == ResponseMediaType.None)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status406NotAcceptable, ErrorCodes.NotAcceptable,
                $"/graphql answers in application/graphql-response+json or application/json (or text/event-stream for a stream), not '{context.Request.Headers.Accept}'.");
            return;
        }

        var isGet = HttpMethods.IsGet(context.Request.Method);
        if (isGet && !context.Request.Query.ContainsKey("query") && context.Request.Query.ContainsKey("sdl"))
        {
            await GraphQLSchemaDocument.WriteAsync(context, executor.CurrentSchema);
            return;
        }

        var (request, problem) = await GraphQLHttpRequest.ReadAsync(context, executor.Json, _maxBodyBytes);
        if (problem is not null)
        {
            await GraphQLHttpRequest.WriteAsync(context, problem, mediaType, executor.Json);
            return;
        }

        var schema = executor.CurrentSchema;
        ExecutionResult result;
        try
        {
            result = await executor.ExecuteAsync(schema, request!, isGet ? OperationKinds.Query : OperationKinds.QueryAndMutation,
                context.RequestServices, context.User, context.Request.Headers, role: null, context.RequestAborted, RateLimiting.ClientPartition.Of(context));
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away before its result was ready: a normal end, nothing to answer.
            return;
        }

        if (subscriptionStream is not null && GraphQLExecutor.IsOperationNotAllowed(result, OperationType.Subscription))
        {
            // Validated, not run: the event stream runs it afresh, on the schema current then.
            await subscriptionStream(context, request!);
            return;
        }

        var status = StatusCodes.Status200OK;
        if (isGet && GraphQLExecutor.IsOperationNotAllowed(result))
        {
            status = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "POST";
        }
        else if (!result.Executed && mediaType == ResponseMediaType.GraphQLResponseJson)
        {
            status = StatusCodes.Status400BadRequest;
        }

        await GraphQLHttpRequest.WriteResultAsync(context, result, status, mediaType, executor.Json);
    }
}
