using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Scripting.Fetch;

/// <summary>A fetch a script asked for, checked: what is sent.</summary>
internal sealed record FetchRequest(Uri Url, HttpMethod Method, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body);

/// <summary>How a fetch ended: an error message, or the response (its body read whole).</summary>
internal sealed record FetchOutcome(string? Error, int Status = 0, string? Url = null, string? HeadersJson = null, byte[]? Body = null, bool Redirected = false);

/// <summary>
/// <c>fetch</c> for scripts, on <see cref="IHttpClientFactory"/>: only the hosts of
/// <see cref="FetchOptions.AllowedHosts"/>, every redirect checked again, the address checked where the
/// connection is made (so a DNS answer that changes between the check and the connect cannot reach a
/// private address: <see cref="ConnectAsync"/> resolves and connects itself), bounded in time, size and
/// concurrency per script.
/// </summary>
internal sealed class ScriptFetcher
{
    public const string ClientName = "AiWebEngine.Fetch";

    // Headers the client library sets from the request itself; a script's would be ignored or break framing.
    private static readonly HashSet<string> RefusedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Keep-Alive", "TE", "Trailer", "Proxy-Connection", "Expect",
    };

    private readonly IHttpClientFactory _clients;
    private readonly FetchOptions _options;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _perScript = new(StringComparer.Ordinal);

    public ScriptFetcher(IHttpClientFactory clients, IOptions<FetchOptions> options)
    {
        _clients = clients;
        _options = options.Value;
        AllowList = new FetchAllowList(_options.AllowedHosts);
    }

    public FetchAllowList AllowList { get; }

    /// <summary>Configures the named client: no automatic redirects or cookies, connections made by <see cref="ConnectAsync"/>.</summary>
    public static void Configure(IServiceCollection services)
    {
        services.AddHttpClient(ClientName, client => client.Timeout = System.Threading.Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(provider =>
            {
                var allowList = provider.GetRequiredService<ScriptFetcher>().AllowList;
                return new SocketsHttpHandler
                {
                    AllowAutoRedirect = false,
                    UseCookies = false,
                    UseProxy = false,
                    AutomaticDecompression = DecompressionMethods.All,
                    ConnectCallback = (context, cancellationToken) => ConnectAsync(allowList, context, cancellationToken),
                    PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                };
            });
    }

    /// <summary>Checks what the bootstrap handed over; the request, or the message of what is wrong.</summary>
    public (FetchRequest? Request, string? Error) Prepare(string url, string method, string? headersJson, byte[]? body)
    {
        if (AllowList.IsEmpty)
        {
            return (null, $"outbound HTTP is off: list the hosts scripts may reach in {FetchOptions.SectionName}:AllowedHosts");
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return (null, $"'{Cut(url)}' is not an absolute http or https URL");
        }

        if (uri.UserInfo.Length > 0)
        {
            return (null, "a URL with credentials (user:password@) is not fetched; send an Authorization header");
        }

        if (Refusal(uri) is { } refused)
        {
            return (null, refused);
        }

        if (method.Length == 0 || method.Length > 16 || !method.All(char.IsAsciiLetter))
        {
            return (null, $"method must be a word such as GET or POST, got '{Cut(method)}'");
        }

        var headers = new List<KeyValuePair<string, string>>();
        if (headersJson is not null)
        {
            try
            {
                using var document = JsonDocument.Parse(headersJson);
                foreach (var header in document.RootElement.EnumerateObject())
                {
                    if (header.Value.ValueKind != JsonValueKind.String)
                    {
                        return (null, $"header '{Cut(header.Name)}' must be a string");
                    }

                    if (RefusedHeaders.Contains(header.Name))
                    {
                        return (null, $"header '{header.Name}' is set by the engine");
                    }

                    headers.Add(new(header.Name, header.Value.GetString()!));
                }
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException)
            {
                return (null, "headers must be an object of strings");
            }
        }

        if (body is { Length: var length } && length > _options.MaxRequestBytes)
        {
            return (null, $"the request body is {length} bytes; the limit is {_options.MaxRequestBytes} ({FetchOptions.SectionName}:MaxRequestBytes)");
        }

        return (new FetchRequest(uri, new HttpMethod(method.ToUpperInvariant()), headers, body), null);
    }

    /// <summary>Sends the request for <paramref name="scriptUri"/>, following redirects; never throws.</summary>
    public async Task<FetchOutcome> SendAsync(string scriptUri, FetchRequest request)
    {
        var gate = _perScript.GetOrAdd(scriptUri, _ => new SemaphoreSlim(_options.MaxConcurrentPerScript, _options.MaxConcurrentPerScript));
        if (!gate.Wait(0))
        {
            return new FetchOutcome($"the script already has {_options.MaxConcurrentPerScript} fetches in flight ({FetchOptions.SectionName}:MaxConcurrentPerScript)");
        }

        using var timeout = new CancellationTokenSource(_options.Timeout);
        try
        {
            return await SendAsync(request, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return new FetchOutcome($"{request.Url.Host} did not answer within {_options.Timeout.TotalMilliseconds:0} ms ({FetchOptions.SectionName}:Timeout)");
        }
        catch (HttpRequestException e)
        {
            var refused = e.InnerException as FetchRefusedException ?? e.InnerException?.InnerException as FetchRefusedException;
            return new FetchOutcome(refused?.Message ?? $"{request.Url.Host}: {e.Message}");
        }
        catch (FetchRefusedException e)
        {
            return new FetchOutcome(e.Message);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<FetchOutcome> SendAsync(FetchRequest request, CancellationToken cancellationToken)
    {
        var client = _clients.CreateClient(ClientName);
        var url = request.Url;
        var method = request.Method;
        var body = request.Body;
        for (var redirects = 0; ; redirects++)
        {
            using var message = new HttpRequestMessage(method, url);
            if (body is not null)
            {
                message.Content = new ByteArrayContent(body);
            }

            foreach (var (name, value) in request.Headers)
            {
                // Content-Type and the other content headers go on the body (and are dropped without one).
                if (!message.Headers.TryAddWithoutValidation(name, value))
                {
                    message.Content?.Headers.TryAddWithoutValidation(name, value);
                }
            }

            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is 301 or 302 or 303 or 307 or 308 && response.Headers.Location is { } location)
            {
                if (redirects == _options.MaxRedirects)
                {
                    return new FetchOutcome($"more than {_options.MaxRedirects} redirects ({FetchOptions.SectionName}:MaxRedirects)");
                }

                url = location.IsAbsoluteUri ? location : new Uri(url, location);
                if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
                {
                    return new FetchOutcome($"a redirect to '{Cut(url.ToString())}', which is not http or https, was not followed");
                }

                if (Refusal(url) is { } refused)
                {
                    return new FetchOutcome("a redirect was not followed: " + refused);
                }

                // As browsers do: 303 (and 301/302 after a POST) continue with a GET and no body.
                if (status == 303 || (status is 301 or 302 && method == HttpMethod.Post))
                {
                    method = HttpMethod.Get;
                    body = null;
                }

                continue;
            }

            if (response.Content.Headers.ContentLength is { } declared && declared > _options.MaxResponseBytes)
            {
                return new FetchOutcome(TooLarge(url));
            }

            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > _options.MaxResponseBytes)
                {
                    return new FetchOutcome(TooLarge(url));
                }

                buffer.Write(chunk, 0, read);
            }

            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var header in response.Headers.Concat(response.Content.Headers))
            {
                var name = header.Key.ToLowerInvariant();
                var value = string.Join(", ", header.Value);
                headers[name] = headers.TryGetValue(name, out var earlier) ? earlier + ", " + value : value;
            }

            return new FetchOutcome(null, status, url.ToString(), JsonSerializer.Serialize(headers), buffer.ToArray(), redirects > 0);
        }
    }

    private string TooLarge(Uri url) => $"the response from {url.Host} is over {_options.MaxResponseBytes} bytes ({FetchOptions.SectionName}:MaxResponseBytes)";

    private string? Refusal(Uri uri) =>
        AllowList.Match(uri.IdnHost, uri.Port).Allowed
            ? null
            : $"{uri.IdnHost}:{uri.Port} is not in {FetchOptions.SectionName}:AllowedHosts";

    // Resolves the host and connects to an address the allow list permits: public, or any for a host listed by name.
    private static async ValueTask<Stream> ConnectAsync(FetchAllowList allowList, SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var port = context.DnsEndPoint.Port;
        var (allowed, byName) = allowList.Match(host, port);
        if (!allowed)
        {
            throw new FetchRefusedException($"{host}:{port} is not in {FetchOptions.SectionName}:AllowedHosts");
        }

        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var permitted = addresses.Where(a => byName || FetchAllowList.IsPublic(a)).ToList();
        if (permitted.Count == 0)
        {
            throw new FetchRefusedException(addresses.Length == 0
                ? $"{host} does not resolve"
                : $"{host} resolves to {addresses[0]}, which is not a public address: only a host listed by name in {FetchOptions.SectionName}:AllowedHosts may be reached there");
        }

        Exception? last = null;
        foreach (var address in permitted)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }

        throw new HttpRequestException($"could not connect to {host}:{port}: {last?.Message}", last);
    }

    private static string Cut(string text) => text.Length > 80 ? text[..77] + "..." : text;
}

/// <summary>A fetch the address rule refused (at connect time).</summary>
internal sealed class FetchRefusedException(string message) : Exception(message)
{
    public FetchRefusedException() : this("refused") { }

    public FetchRefusedException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}
