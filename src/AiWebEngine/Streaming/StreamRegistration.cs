namespace AiWebEngine.Streaming;

/// <summary>
/// One registered stream path: the script that owns it, the hook that admits each connection, and the
/// metadata its endpoint carries. It is itself metadata of the path's endpoint
/// (<see cref="StreamEndpointDataSource"/>), so what endpoint metadata decides (authorization, CORS,
/// rate limits) applies to a stream exactly as to a route.
/// </summary>
/// <param name="Path">The path, exactly as registered: matched case-sensitively (SPEC §3).</param>
/// <param name="Owner">The URI of the owning script.</param>
internal sealed record StreamRegistration(string Path, string Owner)
{
    /// <summary>
    /// The <c>authorize</c> hook, run once per connect; <see langword="null"/> when the stream has none,
    /// and then the query string is the connection's (untrusted) metadata.
    /// </summary>
    public IStreamConnectHook? Hook { get; init; }

    /// <summary>What else the endpoint carries, in order: the registration's options, its authorization rule and policy.</summary>
    public IReadOnlyList<object> EndpointMetadata { get; init; } = [];

    /// <summary>The rate limit policy its connects take a permit of (<c>{ rateLimit: "name" }</c>), or <see langword="null"/>.</summary>
    public string? RateLimit { get; init; }
}
