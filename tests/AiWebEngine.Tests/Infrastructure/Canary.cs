using System.Net;
using System.Text;
using System.Text.Json;

namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// A bystander script, and a client of its stream connected before something hostile happens, for the
/// hardening tests' second and third assertions: the server is still healthy afterwards (<c>/health</c> ok,
/// another script's route, GraphQL field and stream still serving) and nothing that was promised was
/// lost (the stream client got every beat, in order, with consecutive ids).
/// </summary>
public sealed class Canary : IAsyncDisposable
{
    /// <summary>The script's URI; add it to the scripts of the host under test with <see cref="Source"/>.</summary>
    public const string Uri = "canary.js";

    public const string Source = """
        registerWebStream("/canary/stream");
        register("/canary", () => ({ body: "alive" }));
        register("/canary/beat", (req) => ({ body: String(sendStreamMessage({ beat: Number(req.body) })) }), "POST");
        registerGraphQLQuery("canary", "type Query { canary: String }", () => "alive");
        """;

    private readonly EngineHost _host;
    private readonly SseReader _stream;
    private int _beats;

    private Canary(EngineHost host, SseReader stream)
    {
        _host = host;
        _stream = stream;
    }

    /// <summary>The scripts of a host under test: <paramref name="scripts"/> plus the canary.</summary>
    public static Dictionary<string, string> With(IReadOnlyDictionary<string, string>? scripts = null)
    {
        var all = new Dictionary<string, string>(scripts ?? new Dictionary<string, string>()) { [Uri] = Source };
        return all;
    }

    /// <summary>Connects a client to the canary's stream and checks that a first beat arrives.</summary>
    public static async Task<Canary> ConnectAsync(EngineHost host)
    {
        var stream = await SseReader.OpenAsync(host.Client, "/canary/stream");
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        var canary = new Canary(host, stream);
        await canary.BeatAsync();
        return canary;
    }

    /// <summary>
    /// Asserts that the server is healthy: <c>/health</c> says <paramref name="status"/> (<c>ok</c> unless a
    /// script under test is meant to have failed), the canary's route and GraphQL field answer, and its
    /// stream client has received every beat so far, in order, with no gap.
    /// </summary>
    public async Task AssertHealthyAsync(string status = "ok")
    {
        var health = await HttpAssert.JsonAsync(await _host.Client.GetAsync("/health"));
        Assert.Equal(status, health.GetProperty("status").GetString());
        Assert.Equal("alive", await HttpAssert.TextAsync(await _host.Client.GetAsync("/canary")));
        using var query = new StringContent("""{"query":"{ canary }"}""", Encoding.UTF8, "application/json");
        var graphql = await HttpAssert.JsonAsync(await _host.Client.PostAsync("/graphql", query));
        Assert.Equal("alive", graphql.GetProperty("data").GetProperty("canary").GetString());
        await BeatAsync();
    }

    private async Task BeatAsync()
    {
        var beat = ++_beats;
        using var content = new StringContent(beat.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // At least the canary's own client (a test may connect more).
        Assert.True(int.Parse(await HttpAssert.TextAsync(await _host.Client.PostAsync("/canary/beat", content)), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        await _stream.ReadMessagesAsync(beat, TimeSpan.FromSeconds(30));
        var messages = _stream.Messages;
        Assert.Equal(beat, messages.Count);
        // Ids follow the stream's id base (the clock when it was created) with no gap.
        var first = Streaming.StreamEndpointTests.IdBase(_host, "/canary/stream") + 1;
        for (var i = 0; i < beat; i++)
        {
            Assert.Equal((first + i).ToString(System.Globalization.CultureInfo.InvariantCulture), messages[i].Id);
            Assert.Equal(i + 1, JsonDocument.Parse(messages[i].Data!).RootElement.GetProperty("beat").GetInt32());
        }
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();
}
