using System.Net;
using System.Text;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Management;

/// <summary><c>GET /engine/script-updates</c> over a real socket, while scripts change through the API and on disk.</summary>
public sealed class ScriptUpdatesStreamTests
{
    [Fact]
    public async Task ScriptUpdates_ReportEveryChange_FromUploadsAndFileEdits()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);
        await using var updates = await SseReader.OpenAsync(host.Client, "/engine/script-updates");
        Assert.Equal("text/event-stream", updates.Response.Content.Headers.ContentType?.MediaType);
        await updates.ReadUntilAsync(frames => frames.Any(f => f.Retry is not null));

        Assert.Equal(HttpStatusCode.Created, (await host.Client.PutAsync("/engine/scripts/app.js", new StringContent("writeLog('v1');", Encoding.UTF8))).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await host.Client.PutAsync("/engine/scripts/app.js", new StringContent("\nnull.x;", Encoding.UTF8))).StatusCode);
        await host.WriteScriptAsync("app.js", "writeLog('v2');");
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync("/engine/scripts/app.js")).StatusCode);

        await updates.ReadMessagesAsync(4);
        var messages = updates.Messages;
        var events = messages.Select(m => JsonDocument.Parse(m.Data!).RootElement).ToList();
        Assert.All(events, e => Assert.Equal("script_update", e.GetProperty("type").GetString()));
        Assert.All(events, e => Assert.Equal("app.js", e.GetProperty("uri").GetString()));
        Assert.All(events, e => Assert.True(e.GetProperty("timestamp").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1)));
        Assert.Equal(["inserted", "failed", "updated", "removed"], events.Select(e => e.GetProperty("action").GetString()));
        Assert.Contains("null", events[1].GetProperty("error").GetString());
        Assert.Equal(2, events[1].GetProperty("line").GetInt32());
        Assert.Equal(["1", "2", "3", "4"], messages.Select(m => m.Id));
    }

    [Fact]
    public async Task ScriptUpdates_ResumeAfterLastEventId()
    {
        await using var host = await EngineHost.StartAsync(kestrel: true);
        await host.Client.PutAsync("/engine/scripts/a.js", new StringContent("writeLog('a');"));
        await host.Client.PutAsync("/engine/scripts/b.js", new StringContent("writeLog('b');"));

        await using var updates = await SseReader.OpenAsync(host.Client, "/engine/script-updates", lastEventId: "1");

        await updates.ReadMessagesAsync(1);
        var message = updates.Messages[0];
        Assert.Equal("2", message.Id);
        Assert.Equal("b.js", JsonDocument.Parse(message.Data!).RootElement.GetProperty("uri").GetString());
    }
}
