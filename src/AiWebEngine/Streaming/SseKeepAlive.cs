using Microsoft.Extensions.Options;

namespace AiWebEngine.Streaming;

/// <summary>
/// Keep-alive comments for the SSE streams: a connection idle for <see cref="StreamOptions.KeepAliveInterval"/>
/// gets a <c>:</c> comment queued.
/// </summary>
internal sealed class SseKeepAlive(IOptions<StreamOptions> options, TimeProvider time)
    : KeepAliveSweep(options.Value.KeepAliveInterval, time);
