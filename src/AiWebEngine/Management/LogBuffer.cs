using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Management;

/// <summary>One captured log line.</summary>
internal sealed record LogEntry(DateTimeOffset Timestamp, LogLevel Level, string Category, int EventId, string Message, string? Uri, string? Exception);

/// <summary>
/// A logger provider that keeps the last <see cref="AdminOptions.LogBufferSize"/> log lines (the
/// oldest are dropped first) for <c>GET /engine/logs</c> and its live tail <c>/engine/logs/stream</c>.
/// </summary>
/// <remarks>
/// It sees what the logging configuration lets through, engine and script output alike. A line
/// logged with a <c>ScriptUri</c> value (script output, load failures, handler errors) is tagged
/// with that URI.
/// </remarks>
[ProviderAlias("EngineLogBuffer")]
internal sealed class LogBuffer(IOptions<AdminOptions> options, TimeProvider time) : ILoggerProvider
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public EngineFeed<LogEntry> Feed { get; } = new(options.Value.LogBufferSize, options.Value.StreamQueueCapacity);

    public ILogger CreateLogger(string categoryName) => new BufferLogger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(LogEntry entry) => Feed.Append(entry, Encode);

    /// <summary>The JSON of one line: <c>{ id, timestamp, level, category, eventId, uri?, message, exception? }</c>.</summary>
    private static string Encode(long id, LogEntry entry)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber("id", id);
            json.WriteString("timestamp", entry.Timestamp);
            json.WriteString("level", entry.Level.ToString());
            json.WriteString("category", entry.Category);
            json.WriteNumber("eventId", entry.EventId);
            if (entry.Uri is not null)
            {
                json.WriteString("uri", entry.Uri);
            }

            json.WriteString("message", entry.Message);
            if (entry.Exception is not null)
            {
                json.WriteString("exception", entry.Exception);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private sealed class BufferLogger(LogBuffer buffer, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            string? uri = null;
            if (state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    if (key == "ScriptUri" && value is string text)
                    {
                        uri = text;
                        break;
                    }
                }
            }

            buffer.Add(new LogEntry(buffer.Now, logLevel, category, eventId.Id, formatter(state, exception), uri, exception?.ToString()));
        }
    }

    private DateTimeOffset Now => time.GetUtcNow();
}
