using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace AiWebEngine.GraphQL.Http;

/// <summary>The media type a single GraphQL result is written in, chosen from the request's Accept header.</summary>
internal enum ResponseMediaType
{
    /// <summary>No type the client accepts: 406.</summary>
    None,

    /// <summary><c>application/json</c>: 200 for every well-formed request (the legacy behaviour clients expect).</summary>
    Json,

    /// <summary><c>application/graphql-response+json</c>: status codes say what went wrong (400 for request errors).</summary>
    GraphQLResponseJson,
}

/// <summary>Content negotiation for <c>/graphql</c>, as the GraphQL-over-HTTP draft and its <c>graphql-http</c> audits expect.</summary>
internal static class ResponseMediaTypes
{
    public const string GraphQLResponseJson = "application/graphql-response+json";
    public const string EventStream = "text/event-stream";

    /// <summary>The <c>Content-Type</c> for <paramref name="type"/>.</summary>
    public static string ContentType(ResponseMediaType type) =>
        type == ResponseMediaType.GraphQLResponseJson ? GraphQLResponseJson + "; charset=utf-8" : "application/json; charset=utf-8";

    /// <summary>
    /// The best type <paramref name="accept"/> allows: the highest quality wins, and on a tie
    /// graphql-response+json before json. No Accept (or one that does not parse), <c>*/*</c> and
    /// <c>application/*</c> get <c>application/json</c>.
    /// </summary>
    public static ResponseMediaType Negotiate(StringValues accept)
    {
        if (StringValues.IsNullOrEmpty(accept) || !MediaTypeHeaderValue.TryParseList(accept, out var values))
        {
            return ResponseMediaType.Json;
        }

        var best = ResponseMediaType.None;
        var bestQuality = 0.0;
        foreach (var value in values)
        {
            var quality = value.Quality ?? 1.0;
            var type = value.MediaType.Equals(GraphQLResponseJson, StringComparison.OrdinalIgnoreCase) ? ResponseMediaType.GraphQLResponseJson
                : IsJsonType(value.MediaType) ? ResponseMediaType.Json
                : ResponseMediaType.None;
            if (type != ResponseMediaType.None && quality > 0 && (quality > bestQuality || (quality == bestQuality && type > best)))
            {
                best = type;
                bestQuality = quality;
            }
        }

        return best;
    }

    /// <summary>Whether <paramref name="accept"/> names <c>text/event-stream</c> (with a quality above 0).</summary>
    public static bool AcceptsEventStream(StringValues accept) => Accepts(accept, EventStream);

    /// <summary>
    /// Whether <paramref name="accept"/> prefers <c>text/event-stream</c> to every JSON type
    /// <c>/graphql</c> answers in: named with a quality above 0 and above that of
    /// <c>application/graphql-response+json</c>, <c>application/json</c>, <c>application/*</c> and
    /// <c>*/*</c> (so it also holds when the event stream is the only one of them accepted).
    /// </summary>
    /// <remarks>
    /// A tie is not a preference: urql and other fetch clients list <c>text/event-stream</c> beside the
    /// JSON types, all at quality 1, on every request, and expect JSON for a query.
    /// </remarks>
    public static bool PrefersEventStream(StringValues accept)
    {
        if (StringValues.IsNullOrEmpty(accept) || !MediaTypeHeaderValue.TryParseList(accept, out var values))
        {
            return false;
        }

        double eventStream = 0, json = 0;
        foreach (var value in values)
        {
            var quality = value.Quality ?? 1.0;
            if (value.MediaType.Equals(EventStream, StringComparison.OrdinalIgnoreCase))
            {
                eventStream = Math.Max(eventStream, quality);
            }
            else if (IsJsonType(value.MediaType))
            {
                json = Math.Max(json, quality);
            }
        }

        return eventStream > 0 && eventStream > json;
    }

    private static bool IsJsonType(StringSegment mediaType) =>
        mediaType.Equals(GraphQLResponseJson, StringComparison.OrdinalIgnoreCase)
        || mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
        || mediaType.Equals("application/*", StringComparison.OrdinalIgnoreCase)
        || mediaType.Equals("*/*", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether <paramref name="accept"/> names <paramref name="mediaType"/> itself (not through a wildcard) with a quality above 0.</summary>
    public static bool Accepts(StringValues accept, string mediaType)
    {
        if (StringValues.IsNullOrEmpty(accept) || !MediaTypeHeaderValue.TryParseList(accept, out var values))
        {
            return false;
        }

        return values.Any(v => v.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase) && (v.Quality ?? 1.0) > 0);
    }

    /// <summary>Whether a request body is JSON in UTF-8 (<c>application/json</c>, any or no charset but UTF-8).</summary>
    public static bool IsJsonBody(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var value) || !value.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var charset = value.Charset;
        return StringSegment.IsNullOrEmpty(charset)
            || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
    }
}
