using System.Buffers;
using System.Globalization;
using System.Text;

namespace AiWebEngine.Streaming;

/// <summary>
/// The bytes of the SSE wire format (https://html.spec.whatwg.org/multipage/server-sent-events.html).
/// </summary>
/// <remarks>
/// <see cref="System.Net.ServerSentEvents.SseFormatter"/> writes items to a stream one by one; here a
/// frame is encoded once into an array that every connection shares, and keep-alive comments (which
/// <c>SseFormatter</c> cannot write) are part of the same stream of frames.
/// </remarks>
internal static class SseFrames
{
    /// <summary>A comment line: keeps proxies and clients from timing the connection out.</summary>
    public static ReadOnlySpan<byte> KeepAlive => ":\n\n"u8;

    /// <summary><c>: text\n\n</c>, a comment a client's parser skips; line breaks in <paramref name="text"/> become spaces.</summary>
    public static byte[] Comment(string text) =>
        Encoding.UTF8.GetBytes($": {text.ReplaceLineEndings(" ")}\n\n");

    private static ReadOnlySpan<byte> IdPrefix => "id: "u8;

    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;

    /// <summary><c>retry: n\n\n</c>, the first frame of every stream.</summary>
    public static byte[] Retry(int milliseconds) => Encoding.UTF8.GetBytes($"retry: {milliseconds.ToString(CultureInfo.InvariantCulture)}\n\n");

    /// <summary><c>id: n\n</c> then one <c>data:</c> line per line of <paramref name="data"/>, then a blank line.</summary>
    public static byte[] Message(long id, string data)
    {
        var buffer = new ArrayBufferWriter<byte>(Encoding.UTF8.GetMaxByteCount(data.Length) / 2 + 48);
        if (id > 0)
        {
            buffer.Write(IdPrefix);
            id.TryFormat(buffer.GetSpan(20), out var written, provider: CultureInfo.InvariantCulture);
            buffer.Advance(written);
            buffer.Write("\n"u8);
        }

        WriteData(buffer, data);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes <c>data: line\n</c> for each line of <paramref name="data"/> (<c>\r\n</c>, <c>\n</c> and <c>\r</c> all end a line).</summary>
    public static void WriteData(IBufferWriter<byte> buffer, ReadOnlySpan<char> data)
    {
        while (true)
        {
            var end = data.IndexOfAny('\r', '\n');
            var line = end < 0 ? data : data[..end];
            buffer.Write(DataPrefix);
            var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(line.Length));
            buffer.Advance(Encoding.UTF8.GetBytes(line, span));
            buffer.Write("\n"u8);
            if (end < 0)
            {
                return;
            }

            data = data[(end + (data[end] == '\r' && end + 1 < data.Length && data[end + 1] == '\n' ? 2 : 1))..];
        }
    }
}
