using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Primitives;

namespace AiWebEngine.Streaming;

/// <summary>
/// Projects the <see cref="StreamRegistry"/> into ASP.NET Core endpoints, one per stream path, so a
/// stream is served by the router like a script route and carries its <see cref="StreamRegistration"/>
/// as endpoint metadata.
/// </summary>
/// <remarks>
/// A stream endpoint is a literal pattern of the path's segments with <see cref="Order"/> below every
/// route's, and no HTTP method metadata: it takes every method on its path (GET opens the stream, the
/// others get the engine's 405), ahead of any script route whose parameters would match the path too.
/// The router matches literals in any case; <see cref="StreamPathMatcherPolicy"/> keeps the endpoint to
/// requests whose path is the stream path exactly. On every change a new list is built and the change
/// token fires; the router builds its new matcher before it drops the old one, so a stream that a reload
/// keeps never answers 404 in between, and its open connections, which live on the bus topic, stay.
/// </remarks>
internal sealed class StreamEndpointDataSource : EndpointDataSource, IDisposable
{
    /// <summary>The order of every stream endpoint: before script routes (0) and the engine's own endpoints.</summary>
    public const int Order = -1;

    private readonly StreamRegistry _streams;
    private readonly StreamEndpoint _endpoint;
    private readonly Lock _sync = new();
    private IReadOnlyList<Endpoint> _endpoints = [];
    private CancellationTokenSource _changed = new();
    private bool _stale = true;

    public StreamEndpointDataSource(StreamRegistry streams, StreamEndpoint endpoint)
    {
        _streams = streams;
        _endpoint = endpoint;
        _streams.Changed += OnChanged;
    }

    public override IReadOnlyList<Endpoint> Endpoints
    {
        get
        {
            lock (_sync)
            {
                if (_stale)
                {
                    _endpoints = Build();
                    _stale = false;
                }

                return _endpoints;
            }
        }
    }

    public override IChangeToken GetChangeToken()
    {
        lock (_sync)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    /// <summary>The literal route pattern of a stream path: every segment a literal, none a parameter.</summary>
    public static RoutePattern PatternOf(string path) => RoutePatternFactory.Pattern(
        path,
        (path.Length == 1 ? [] : path[1..].Split('/')).Select(segment => RoutePatternFactory.Segment(RoutePatternFactory.LiteralPart(segment))));

    private void OnChanged()
    {
        CancellationTokenSource previous;
        lock (_sync)
        {
            _stale = true;
            previous = _changed;
            _changed = new CancellationTokenSource();
        }

        previous.Cancel();
        previous.Dispose();
    }

    private List<Endpoint> Build()
    {
        var endpoints = new List<Endpoint>();
        foreach (var stream in _streams.Snapshot.Values)
        {
            var builder = new RouteEndpointBuilder(context => _endpoint.HandleAsync(context, stream), PatternOf(stream.Path), Order)
            {
                DisplayName = $"stream {stream.Path} ({stream.Owner})",
            };
            builder.Metadata.Add(stream);
            builder.Metadata.Add(AiWebEngine.Security.AcceptsQueryToken.Instance);
            foreach (var metadata in stream.EndpointMetadata)
            {
                builder.Metadata.Add(metadata);
            }

            endpoints.Add(builder.Build());
        }

        return endpoints;
    }

    public void Dispose()
    {
        _streams.Changed -= OnChanged;
        _changed.Dispose();
    }
}
