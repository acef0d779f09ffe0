using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.Sse;

/// <summary>
/// Keep-alive comments for GraphQL event streams: one idle for <see cref="GraphQLOptions.KeepAliveInterval"/>
/// gets <c>:\n\n</c>, which graphql-sse clients and EventSource ignore and proxies see as traffic.
/// </summary>
internal sealed class GraphQLKeepAlive(IOptions<GraphQLOptions> options, TimeProvider time)
    : KeepAliveSweep(options.Value.KeepAliveInterval, time);
