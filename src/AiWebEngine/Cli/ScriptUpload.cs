using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace AiWebEngine.Cli;

/// <summary>
/// The client side of <c>PUT {server}/engine/scripts/{uri}</c>: the body is the script's source, with
/// <c>Authorization: Bearer &lt;token&gt;</c> when a token is given.
/// </summary>
/// <remarks>
/// The server answers 200 or 201 when the script loaded; 422 with
/// <c>{ error: { code, message, details: { line, … } } }</c> when it did not (and then changes nothing);
/// 401 or 403 JSON when the token is missing, wrong, or the client is not allowed.
/// </remarks>
internal sealed class ScriptUpload(HttpClient http, Uri server, string? token)
{
    public Uri Server { get; } = server;

    /// <summary>The address a script's URI is uploaded to; each path segment is escaped.</summary>
    public Uri AddressOf(string uri) =>
        new(Server.AbsoluteUri.TrimEnd('/') + "/engine/scripts/" + string.Join('/', uri.Split('/').Select(Uri.EscapeDataString)));

    /// <exception cref="HttpRequestException">The server could not be reached.</exception>
    public async Task<UploadResult> PutAsync(string uri, string source, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, AddressOf(uri))
        {
            Content = new StringContent(source, Encoding.UTF8, "application/javascript"),
        };
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return UploadResult.From(response.StatusCode, body);
    }
}

/// <summary>What the server said about one upload.</summary>
internal sealed record UploadResult(HttpStatusCode Status, string? Code, string Message, int? Line)
{
    public bool Succeeded => (int)Status is >= 200 and < 300;

    public static UploadResult From(HttpStatusCode status, string body)
    {
        if ((int)status is >= 200 and < 300)
        {
            return new UploadResult(status, null, "", null);
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : body;
                int? line = error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Object
                    && details.TryGetProperty("line", out var l) && l.TryGetInt32(out var n) ? n : null;
                return new UploadResult(status, code, message, line);
            }
        }
        catch (JsonException)
        {
            // Not the engine's JSON (a proxy's error page, say): show what came back.
        }

        return new UploadResult(status, null, string.IsNullOrWhiteSpace(body) ? status.ToString() : body.Trim(), null);
    }
}
