namespace AiWebEngine.Streaming;

/// <summary>
/// One registered stream path: the script that owns it. It is the metadata of the path's endpoint
/// (<see cref="StreamEndpointDataSource"/>), so what endpoint metadata decides (authorization, CORS,
/// rate limits) applies to a stream exactly as to a route.
/// </summary>
/// <param name="Path">The path, exactly as registered: matched case-sensitively (SPEC §3).</param>
/// <param name="Owner">The URI of the owning script.</param>
internal sealed record StreamRegistration(string Path, string Owner);
