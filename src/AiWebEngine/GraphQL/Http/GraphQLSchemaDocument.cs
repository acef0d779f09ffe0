using System.Runtime.CompilerServices;
using System.Text;
using AiWebEngine.Errors;
using GraphQL;
using GraphQL.Types;
using GraphQL.Utilities;

namespace AiWebEngine.GraphQL.Http;

/// <summary>The current schema as SDL, for <c>GET /graphql?sdl</c> and <c>GET /graphql/schema.graphql</c>.</summary>
internal static class GraphQLSchemaDocument
{
    // Printed once per schema instance; a swapped-out schema takes its text with it.
    private static readonly ConditionalWeakTable<ISchema, byte[]> Printed = [];

    public static async Task WriteAsync(HttpContext context, ISchema schema)
    {
        var sdl = Printed.GetValue(schema, static s => Encoding.UTF8.GetBytes(s.Print()));
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = sdl.Length;
        await context.Response.Body.WriteAsync(sdl, context.RequestAborted);
    }
}
