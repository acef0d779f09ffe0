using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>Issue 19, point 9: the GraphQL chat sample keeps its history in storage, across a restart, and gives a new subscriber the last messages.</summary>
public sealed class ChatHistorySampleTests
{
    private static async Task<JsonElement> GraphAsync(EngineHost host, string query, object? variables = null)
    {
        var body = JsonSerializer.Serialize(new { query, variables });
        var answer = await HttpAssert.JsonAsync(await host.Client.PostAsync("/graphql", new StringContent(body, Encoding.UTF8, "application/json")));
        Assert.False(answer.TryGetProperty("errors", out var errors), errors.ToString());
        return answer.GetProperty("data");
    }

    private static Task<JsonElement> PostAsync(EngineHost host, string room, string text) =>
        GraphAsync(host, "mutation($room: String!, $text: String!) { postMessage(room: $room, user: \"ada\", text: $text) { id } }", new { room, text });

    private static async Task<string[]> HistoryAsync(EngineHost host, string room, int last = 20) =>
        [.. (await GraphAsync(host, "query($room: String!, $last: Int) { chatHistory(room: $room, last: $last) { text } }", new { room, last }))
            .GetProperty("chatHistory").EnumerateArray().Select(m => m.GetProperty("text").GetString()!)];

    [Fact]
    public async Task TheHistory_IsKeptPerRoom_AcrossARestart_AndTheLastMessagesComeFirst()
    {
        var data = Directory.CreateTempSubdirectory("aiwebengine-chat-").FullName;
        var settings = new Dictionary<string, string?> { ["AiWebEngine:Storage:Directory"] = data };
        await using (var first = await EngineHost.StartWithSamplesAsync(settings: settings))
        {
            for (var i = 1; i <= 3; i++)
            {
                await PostAsync(first, "general", "hello " + i);
            }

            await PostAsync(first, "random", "elsewhere");
        }

        await using var second = await EngineHost.StartWithSamplesAsync(settings: settings);
        Assert.Equal(["hello 1", "hello 2", "hello 3"], await HistoryAsync(second, "general"));
        Assert.Equal(["hello 2", "hello 3"], await HistoryAsync(second, "general", last: 2));
        Assert.Equal(["elsewhere"], await HistoryAsync(second, "random"));
        // Ids go on from the stored counter: no id is given twice across the restart.
        Assert.Equal("5", (await PostAsync(second, "general", "after the restart")).GetProperty("postMessage").GetProperty("id").GetString());
        Assert.Equal("after the restart", (await HistoryAsync(second, "general"))[^1]);
    }
}
