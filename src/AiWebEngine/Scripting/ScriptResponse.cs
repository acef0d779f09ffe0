using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AiWebEngine.Scripting;

/// <summary>What a handler answered, checked in .NET against what HTTP can carry.</summary>
/// <remarks>
/// The bootstrap checks the same rules to throw in the script's own terms, but a script can patch
/// the built-ins the bootstrap uses (<c>RegExp.prototype.test</c>, <c>JSON.stringify</c>, ...), so
/// nothing the bootstrap hands over is trusted: a <see cref="ScriptResponse"/> exists only through
/// <see cref="TryCreate"/> or <see cref="Plain"/>, and every instance holds a final status, header
/// names that are HTTP tokens, header values without CR, LF or NUL, and none of the hop-by-hop or
/// framing headers that the server alone decides (a <c>Transfer-Encoding</c> from a script would
/// let its body be read as further responses on a keep-alive connection).
/// </remarks>
public sealed class ScriptResponse
{
    /// <summary>Header names a script may not set (compared case-insensitively): framing and hop-by-hop headers.</summary>
    public static readonly IReadOnlySet<string> RefusedHeaders = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "Transfer-Encoding", "Content-Length", "Connection", "Upgrade", "Keep-Alive", "TE", "Trailer", "Proxy-Connection",
    };

    // RFC 9110 §5.6.2 token characters.
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly SearchValues<char> TokenChars = SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    private ScriptResponse(int status, string contentType, IReadOnlyList<KeyValuePair<string, string>> headers, string body, byte[]? bodyBytes = null)
    {
        Status = status;
        ContentType = contentType;
        Headers = headers;
        Body = body;
        BodyBytes = bodyBytes;
    }

    /// <summary>HTTP status, 200-599 (a handler's answer is final; 1xx is not).</summary>
    public int Status { get; }

    /// <summary>Content type, or empty for the default text type.</summary>
    public string ContentType { get; }

    /// <summary>The script's headers, in the order it gave them.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>The body text; empty for 204, 205 and 304, and when the body is <see cref="BodyBytes"/>.</summary>
    public string Body { get; }

    /// <summary>The body as bytes, when the handler returned a <c>Uint8Array</c> or <c>ArrayBuffer</c>; otherwise <see langword="null"/>.</summary>
    public byte[]? BodyBytes { get; }

    /// <summary>The plain answer: status 200, the default content type, no headers.</summary>
    public static ScriptResponse Plain(string body) => new(StatusCodes.Status200OK, "", [], body);

    /// <summary>Checks what the bootstrap handed over; <paramref name="error"/> says what HTTP cannot carry.</summary>
    /// <param name="headersJson">A JSON object of header names to string values, or <see langword="null"/>.</param>
    /// <param name="binary">Whether <paramref name="body"/> is bytes as a binary string (one char 0–255 per byte), not text.</param>
    public static bool TryCreate(double status, string? contentType, string? headersJson, string? body, out ScriptResponse? response, out string? error, bool binary = false)
    {
        response = null;
        if (double.IsNaN(status) || status != Math.Floor(status) || status is < 200 or > 599)
        {
            error = $"a handler returned status {status.ToString(System.Globalization.CultureInfo.InvariantCulture)}; status must be an integer from 200 to 599";
            return false;
        }

        error = Check((int)status, contentType ?? "", body ?? "");
        if (error is not null)
        {
            return false;
        }

        List<KeyValuePair<string, string>> headers = [];
        if (headersJson is not null && (error = ParseHeaders(headersJson, headers)) is not null)
        {
            return false;
        }

        byte[]? bytes = null;
        if (binary)
        {
            bytes = new byte[body?.Length ?? 0];
            for (var i = 0; i < bytes.Length; i++)
            {
                if (body![i] > 0xFF)
                {
                    error = "a handler's bytes did not reach the server as bytes";
                    return false;
                }

                bytes[i] = (byte)body[i];
            }
        }

        response = new ScriptResponse((int)status, contentType ?? "", headers, binary ? "" : body ?? "", bytes);
        return true;
    }

    private static string? Check(int status, string contentType, string body)
    {
        if (status is StatusCodes.Status204NoContent or StatusCodes.Status205ResetContent or StatusCodes.Status304NotModified && body.Length > 0)
        {
            return $"a handler returned status {status} with a body of {body.Length} characters; a {status} response has no body";
        }

        return IsHeaderValue(contentType) ? null : $"a handler returned contentType {Quote(contentType)}; header values may hold visible ASCII characters, spaces and tabs only";
    }

    private static string? ParseHeaders(string json, List<KeyValuePair<string, string>> headers)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return "a handler's headers did not reach the server as a JSON object of strings";
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return "a handler's headers did not reach the server as a JSON object of strings";
            }

            foreach (var header in document.RootElement.EnumerateObject())
            {
                var name = header.Name;
                if (name.Length == 0 || name.AsSpan().ContainsAnyExcept(TokenChars))
                {
                    return $"a handler returned header {Quote(name, '\'')}; a header name is letters, digits and !#$%&'*+-.^_`|~";
                }

                if (RefusedHeaders.Contains(name))
                {
                    return $"a handler returned header '{name}'; Transfer-Encoding, Content-Length, Connection, Upgrade, Keep-Alive, TE, Trailer and Proxy-Connection are set by the server only";
                }

                if (header.Value.ValueKind != JsonValueKind.String)
                {
                    return $"a handler returned header '{name}' as {header.Value.ValueKind.ToString().ToLowerInvariant()}; header values are strings";
                }

                var value = header.Value.GetString()!;
                if (!IsHeaderValue(value))
                {
                    return $"a handler returned header '{name}' with value {Quote(value)}; header values may hold visible ASCII characters, spaces and tabs only";
                }

                headers.Add(new(name, value));
            }
        }

        return null;
    }

    // Visible ASCII, space and tab: no CR or LF (a new header line), no NUL, nothing Kestrel refuses.
    private static bool IsHeaderValue(string value)
    {
        foreach (var c in value)
        {
            if (c is not ('\t' or (>= ' ' and <= '~')))
            {
                return false;
            }
        }

        return true;
    }

    // A quoted value in a message: JSON-escaped so that a CR/LF shows as \r\n, and cut when long.
    private static string Quote(string value, char quote = '"')
    {
        var shown = value.Length > 60 ? value[..57] + "..." : value;
        var json = JsonSerializer.Serialize(shown, Relaxed);
        return quote == '"' ? json : quote + json[1..^1] + quote;
    }
}
