using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// A real OpenID Connect provider for tests (npm <c>oidc-provider</c>, <c>tests/js/oidc-provider.mjs</c>)
/// with one client whose redirect URI is the engine's <c>/auth/callback</c>, and a sign-in that walks its
/// login and consent forms over HTTP the way a browser does, to get a session cookie without one.
/// </summary>
public sealed partial class OidcProvider : IAsyncDisposable
{
    public const string ClientId = "aiwebengine-tests";
    public const string ClientSecret = "a client secret that is long enough for the tests' provider";

    private readonly NodeClient _process;

    private OidcProvider(NodeClient process, string issuer)
    {
        _process = process;
        Issuer = issuer;
    }

    /// <summary>The provider's issuer (and Authority): <c>http://127.0.0.1:&lt;port&gt;</c>.</summary>
    public string Issuer { get; }

    /// <summary>A loopback port nothing listens on now, for a provider the engine's settings name before it starts.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The engine settings that sign in at the provider on <paramref name="port"/> (over http: a test).</summary>
    public static Dictionary<string, string?> Settings(int port, IReadOnlyDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Authentication:Schemes:OpenIdConnect:Authority"] = $"http://127.0.0.1:{port}",
            ["Authentication:Schemes:OpenIdConnect:ClientId"] = ClientId,
            ["Authentication:Schemes:OpenIdConnect:ClientSecret"] = ClientSecret,
            ["Authentication:Schemes:OpenIdConnect:RequireHttpsMetadata"] = "false",
        };
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Starts the provider on <paramref name="port"/> for an engine at <paramref name="engine"/> and waits until it listens.</summary>
    public static async Task<OidcProvider> StartAsync(int port, Uri engine)
    {
        var redirect = new Uri(engine, "/auth/callback").ToString();
        var process = NodeClient.Start("oidc-provider.mjs", port.ToString(System.Globalization.CultureInfo.InvariantCulture), ClientId, ClientSecret, redirect);
        var ready = await process.WaitForLineAsync(l => l.StartsWith("ready ", StringComparison.Ordinal));
        return new OidcProvider(process, ready["ready ".Length..]);
    }

    /// <summary>An access token (JWT) for <paramref name="sub"/> and <paramref name="audience"/>, signed with the provider's current key.</summary>
    public async Task<string> MintAsync(string sub, string audience, TimeSpan? lifetime = null)
    {
        using var control = new HttpClient();
        var ttl = (int)(lifetime ?? TimeSpan.FromMinutes(10)).TotalSeconds;
        var response = await control.PostAsync($"{Issuer}/test/mint?sub={Uri.EscapeDataString(sub)}&aud={Uri.EscapeDataString(audience)}&ttl={ttl}", null);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Replaces the provider's signing key with a new one (the old one leaves its JWKS); returns the new key's id.</summary>
    public async Task<string> RotateKeyAsync()
    {
        using var control = new HttpClient();
        var response = await control.PostAsync($"{Issuer}/test/rotate", null);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// Signs <paramref name="login"/> in to the engine at <paramref name="engine"/>: its <c>/auth/signin</c>,
    /// the provider's login and consent forms, the callback; returns the session cookie
    /// (<c>aiwebengine.session=…</c>, for a <c>Cookie</c> header) and what <c>/auth/me</c> then answered.
    /// </summary>
    public static async Task<(string Cookie, string Me)> SignInAsync(Uri engine, string login)
    {
        var cookies = new CookieContainer();
        using var handler = new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = true, MaxAutomaticRedirections = 20 };
        using var browser = new HttpClient(handler) { BaseAddress = engine, Timeout = TimeSpan.FromSeconds(30) };

        var page = await browser.GetAsync("/auth/signin?returnUrl=/auth/me");
        page = await SubmitAsync(browser, page, new() { ["prompt"] = "login", ["login"] = login, ["password"] = "any password" });
        page = await SubmitAsync(browser, page, new() { ["prompt"] = "consent" });
        var me = await page.Content.ReadAsStringAsync();
        if (page.StatusCode != HttpStatusCode.OK || page.RequestMessage!.RequestUri!.AbsolutePath != "/auth/me")
        {
            throw new InvalidOperationException($"The sign-in ended at {page.RequestMessage!.RequestUri} with {(int)page.StatusCode}: {me}");
        }

        var session = cookies.GetCookies(engine)["aiwebengine.session"] ?? throw new InvalidOperationException("no session cookie after sign-in");
        return ($"{session.Name}={session.Value}", me);
    }

    // Posts the page's one form (a login or consent screen of the provider's development interactions).
    private static async Task<HttpResponseMessage> SubmitAsync(HttpClient browser, HttpResponseMessage page, Dictionary<string, string> fields)
    {
        var html = await page.Content.ReadAsStringAsync();
        var action = FormAction().Match(html);
        if (page.StatusCode != HttpStatusCode.OK || !action.Success)
        {
            throw new InvalidOperationException($"Expected a form at {page.RequestMessage!.RequestUri}, got {(int)page.StatusCode}: {html}");
        }

        var target = new Uri(page.RequestMessage!.RequestUri!, WebUtility.HtmlDecode(action.Groups[1].Value));
        return await browser.PostAsync(target, new FormUrlEncodedContent(fields));
    }

    [GeneratedRegex("<form[^>]*action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
