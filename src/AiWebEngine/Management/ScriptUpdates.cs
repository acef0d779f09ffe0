using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AiWebEngine.Scripting;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>
/// The feed of <c>GET /engine/script-updates</c>: every change of every script, however it came
/// (a file edit, an upload, a reload after a heap failure), as
/// <c>{ type: "script_update", uri, action, error?, line?, timestamp }</c>.
/// </summary>
internal sealed class ScriptUpdates : IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ScriptManager _scripts;

    public ScriptUpdates(ScriptManager scripts, IOptions<AdminOptions> options)
    {
        _scripts = scripts;
        Feed = new EngineFeed<ScriptChange>(options.Value.UpdateBufferSize, options.Value.StreamQueueCapacity);
        scripts.Changed += OnChanged;
    }

    public EngineFeed<ScriptChange> Feed { get; }

    private void OnChanged(ScriptChange change) => Feed.Append(change, static (_, c) => Encode(c));

    private static string Encode(ScriptChange change)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("type", "script_update");
            json.WriteString("uri", change.Uri);
            json.WriteString("action", change.Kind switch
            {
                ScriptChangeKind.Inserted => "inserted",
                ScriptChangeKind.Updated => "updated",
                ScriptChangeKind.Removed => "removed",
                _ => "failed",
            });
            if (change.Error is not null)
            {
                json.WriteString("error", change.Error);
            }

            if (change.ErrorLine is { } line)
            {
                json.WriteNumber("line", line);
            }

            json.WriteString("timestamp", change.Timestamp);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public void Dispose() => _scripts.Changed -= OnChanged;
}
