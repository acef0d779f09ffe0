using System.Text;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>One frame of an SSE stream as it came over the wire.</summary>
public sealed record SseFrame(string? Id, string? Data, string? Retry, bool IsComment, string? Event = null);

/// <summary>
/// Reads an SSE response as raw text, so tests can assert the wire format byte for byte and parse
/// frames (including comments, which parsers drop) out of it.
/// </summary>
public sealed class SseReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly Stream _stream;
    private readonly StringBuilder _raw = new();
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private readonly byte[] _buffer = new byte[16 * 1024];
    private readonly List<SseFrame> _frames = [];
    private readonly StringBuilder _pending = new();

    private SseReader(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        _stream = stream;
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Everything read so far.</summary>
    public string Raw => _raw.ToString();

    /// <summary>Whether the server ended the stream.</summary>
    public bool Ended { get; private set; }

    /// <summary>Whether the stream ended with an error (a reset or an aborted response) rather than a clean end of the body.</summary>
    public bool EndedWithError { get; private set; }

    public static async Task<SseReader> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        return await OpenAsync(client, request);
    }

    /// <summary>Sends <paramref name="request"/> and reads its response as a stream (any method, any headers).</summary>
    public static async Task<SseReader> OpenAsync(HttpClient client, HttpRequestMessage request)
    {
        // A request made here is sent as the client's own (HTTP/2 for an HTTP/2 test client).
        request.Version = client.DefaultRequestVersion;
        request.VersionPolicy = client.DefaultVersionPolicy;
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseReader(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>Frames read so far (complete ones only), parsed as they arrive.</summary>
    public IReadOnlyList<SseFrame> Frames => _frames;

    /// <summary>Messages (frames with data) read so far.</summary>
    public IReadOnlyList<SseFrame> Messages => _frames.Where(f => f.Data is not null).ToList();

    /// <summary>Reads until <paramref name="done"/> holds for the frames read, the stream ends, or the timeout passes.</summary>
    public async Task<IReadOnlyList<SseFrame>> ReadUntilAsync(Func<IReadOnlyList<SseFrame>, bool> done, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (!done(Frames))
        {
            if (Ended)
            {
                throw new InvalidOperationException($"The stream ended first. Read so far:\n{Raw}");
            }

            try
            {
                await ReadOnceAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out. Read so far:\n{Raw}");
            }
        }

        return Frames;
    }

    public Task<IReadOnlyList<SseFrame>> ReadMessagesAsync(int count, TimeSpan? timeout = null) =>
        ReadUntilAsync(frames => frames.Count(f => f.Data is not null) >= count, timeout);

    /// <summary>Reads until the server ends the stream; returns whether it did within the timeout.</summary>
    public async Task<bool> WaitForEndAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            while (!Ended)
            {
                await ReadOnceAsync(cancel.Token);
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            Ended = EndedWithError = true;
            return true;
        }
        catch (HttpRequestException)
        {
            Ended = EndedWithError = true;
            return true;
        }
    }

    private async Task ReadOnceAsync(CancellationToken cancellationToken)
    {
        var read = await _stream.ReadAsync(_buffer, cancellationToken);
        if (read == 0)
        {
            Ended = true;
            return;
        }

        var chars = new char[_decoder.GetCharCount(_buffer, 0, read)];
        _decoder.GetChars(_buffer, 0, read, chars, 0);
        _raw.Append(chars);
        _pending.Append(chars);
        var text = _pending.ToString();
        var end = text.LastIndexOf("\n\n", StringComparison.Ordinal);
        if (end >= 0)
        {
            _frames.AddRange(Parse(text[..(end + 2)]));
            _pending.Clear().Append(text, end + 2, text.Length - end - 2);
        }
    }

    public static IReadOnlyList<SseFrame> Parse(string raw)
    {
        var frames = new List<SseFrame>();
        var blocks = raw.Split("\n\n");
        for (var i = 0; i < blocks.Length - 1; i++)
        {
            string? id = null, retry = null, type = null;
            List<string>? data = null;
            var comment = false;
            foreach (var line in blocks[i].Split('\n'))
            {
                if (line.StartsWith(':'))
                {
                    comment = true;
                }
                else if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    id = line[4..];
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    type = line[7..];
                }
                else if (line.StartsWith("retry: ", StringComparison.Ordinal))
                {
                    retry = line[7..];
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    (data ??= []).Add(line.StartsWith("data: ", StringComparison.Ordinal) ? line[6..] : line[5..]);
                }
            }

            frames.Add(new SseFrame(id, data is null ? null : string.Join('\n', data), retry, comment && id is null && data is null, type));
        }

        return frames;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _response.Dispose();
    }
}
