using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Scripting.Storage;

/// <summary>
/// Storage that survives restarts, per script: JSON values under string keys in SQLite
/// (<c>{Directory}/storage.db</c>, created on first use), with optional expiry, atomic increment and
/// compare-and-set.
/// </summary>
/// <remarks>
/// Invariants: a script reaches only its own namespace (the script URI is the host's, not the script's
/// choice); a write returns only once SQLite has it on disk (WAL journal, <c>synchronous=FULL</c>), so a
/// crash after <c>set</c> resolved loses nothing; every operation is one statement or one transaction on
/// one connection, one at a time, so increment and compare-and-set are atomic; keys, values and each
/// script's total are bounded. Values are stored as the JSON text the script's value serializes to.
/// </remarks>
internal sealed partial class ScriptStorage : IDisposable
{
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SqliteConnection? _connection;

    private readonly ILogger<ScriptStorage> _logger;
    private readonly bool _cluster;

    public ScriptStorage(IOptions<StorageOptions> options, TimeProvider time, ILogger<ScriptStorage> logger, IOptions<AiWebEngine.Streaming.Redis.BusOptions> bus)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _cluster = bus.Value.UsesRedis;
    }

    public StorageOptions Options => _options;

    /// <summary>The database file.</summary>
    public string DatabasePath => Path.GetFullPath(Path.Combine(_options.Directory, "storage.db"));

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Runs one operation for <paramref name="script"/>; the result as JSON (null for none), or an error message.</summary>
    public async Task<(string? Json, string? Error)> RunAsync(string script, string operation, string key, string? argument)
    {
        await _gate.WaitAsync();
        try
        {
            var connection = Open();
            return operation switch
            {
                "get" => (Get(connection, script, key), null),
                "set" => Set(connection, script, key, argument!),
                "delete" => (Delete(connection, script, key) ? "true" : "false", null),
                "list" => (List(connection, script, key, argument), null),
                "increment" => Increment(connection, script, key, argument!),
                "compareAndSet" => CompareAndSet(connection, script, key, argument!),
                _ => (null, $"unknown operation '{operation}'"),
            };
        }
        catch (SqliteException e)
        {
            return (null, "the storage failed: " + e.Message);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            // The bootstrap's JSON came from the script's realm: anything but the expected shape is refused.
            return (null, "the arguments did not reach the server in the expected form");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Checks a key before anything is started; an error message, or null.</summary>
    public string? CheckKey(string key, bool prefix = false) =>
        (!prefix && key.Length == 0) ? "key must be a non-empty string"
        : Encoding.UTF8.GetByteCount(key) > _options.MaxKeyBytes ? $"the key is over {_options.MaxKeyBytes} bytes ({StorageOptions.SectionName}:MaxKeyBytes)"
        : null;

    /// <summary>Every live entry of <paramref name="script"/>, for the management API's export.</summary>
    public async Task<IReadOnlyList<(string Key, string Value, long? Expires)>> ExportAsync(string script)
    {
        await _gate.WaitAsync();
        try
        {
            using var command = Open().CreateCommand();
            command.CommandText = "SELECT key, value, expires FROM kv WHERE script = $s AND (expires IS NULL OR expires > $now) ORDER BY key";
            command.Parameters.AddWithValue("$s", script);
            command.Parameters.AddWithValue("$now", Now);
            using var reader = command.ExecuteReader();
            var entries = new List<(string, string, long?)>();
            while (reader.Read())
            {
                entries.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2)));
            }

            return entries;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Deletes every entry of <paramref name="script"/>; how many there were.</summary>
    public async Task<int> DeleteAllAsync(string script)
    {
        await _gate.WaitAsync();
        try
        {
            using var command = Open().CreateCommand();
            command.CommandText = "DELETE FROM kv WHERE script = $s";
            command.Parameters.AddWithValue("$s", script);
            return command.ExecuteNonQuery();
        }
        finally
        {
            _gate.Release();
        }
    }

    private SqliteConnection Open()
    {
        if (_connection is not null)
        {
            return _connection;
        }

        if (_cluster)
        {
            // Not shared yet: each instance of a cluster keeps its own (see README, Storage).
            PerInstance(_logger, DatabasePath);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false }.ToString());
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                CREATE TABLE IF NOT EXISTS kv (script TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires INTEGER NULL, PRIMARY KEY (script, key)) WITHOUT ROWID;
                """;
            setup.ExecuteNonQuery();
        }

        return _connection = connection;
    }

    private string? Get(SqliteConnection connection, string script, string key) => ReadLive(connection, null, script, key);

    // The value of a key that has not expired, or null.
    private string? ReadLive(SqliteConnection connection, SqliteTransaction? transaction, string script, string key)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT value FROM kv WHERE script = $s AND key = $k AND (expires IS NULL OR expires > $now)";
        command.Parameters.AddWithValue("$s", script);
        command.Parameters.AddWithValue("$k", key);
        command.Parameters.AddWithValue("$now", Now);
        return command.ExecuteScalar() as string;
    }

    // argument: { "value": <json text>, "ttl": seconds | null }
    private (string?, string?) Set(SqliteConnection connection, string script, string key, string argument)
    {
        var (value, ttl, error) = ReadValue(argument);
        if (error is not null)
        {
            return (null, error);
        }

        using var transaction = connection.BeginTransaction();
        if (Fits(connection, transaction, script, key, value!) is { } tooBig)
        {
            return (null, tooBig);
        }

        Write(connection, transaction, script, key, value!, ttl);
        transaction.Commit();
        return (null, null);
    }

    private bool Delete(SqliteConnection connection, string script, string key)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM kv WHERE script = $s AND key = $k RETURNING expires";
        command.Parameters.AddWithValue("$s", script);
        command.Parameters.AddWithValue("$k", key);
        using var reader = command.ExecuteReader();
        return reader.Read() && (reader.IsDBNull(0) || reader.GetInt64(0) > Now);
    }

    private string List(SqliteConnection connection, string script, string prefix, string? argument)
    {
        var limit = _options.MaxListEntries;
        if (argument is not null)
        {
            using var options = JsonDocument.Parse(argument);
            if (options.RootElement.TryGetProperty("limit", out var l) && l.TryGetInt32(out var requested) && requested > 0)
            {
                limit = Math.Min(requested, limit);
            }
        }

        using var command = connection.CreateCommand();
        // Keys from the prefix up to the prefix followed by the highest character: a range, not LIKE (no escaping).
        command.CommandText = "SELECT key, value FROM kv WHERE script = $s AND key >= $p AND key < $end AND (expires IS NULL OR expires > $now) ORDER BY key LIMIT $limit";
        command.Parameters.AddWithValue("$s", script);
        command.Parameters.AddWithValue("$p", prefix);
        command.Parameters.AddWithValue("$end", prefix + '\uFFFF');
        command.Parameters.AddWithValue("$now", Now);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var buffer = new StringBuilder("[");
        while (reader.Read())
        {
            if (buffer.Length > 1)
            {
                buffer.Append(',');
            }

            buffer.Append("{\"key\":").Append(JsonSerializer.Serialize(reader.GetString(0))).Append(",\"value\":").Append(reader.GetString(1)).Append('}');
        }

        return buffer.Append(']').ToString();
    }

    // argument: the amount, a JSON number.
    private (string?, string?) Increment(SqliteConnection connection, string script, string key, string argument)
    {
        if (!double.TryParse(argument, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var by) || !double.IsFinite(by))
        {
            return (null, "the amount must be a finite number");
        }

        using var transaction = connection.BeginTransaction();
        var current = 0.0;
        if (ReadLive(connection, transaction, script, key) is { } stored
            && !double.TryParse(stored, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out current))
        {
            return (null, $"the value of '{Cut(key)}' is not a number");
        }

        var next = JsonSerializer.Serialize(current + by);
        if (Fits(connection, transaction, script, key, next) is { } tooBig)
        {
            return (null, tooBig);
        }

        Write(connection, transaction, script, key, next, null);
        transaction.Commit();
        return (next, null);
    }

    // argument: { "expected": <json text> | null (absent), "value": <json text>, "ttl": seconds | null }
    private (string?, string?) CompareAndSet(SqliteConnection connection, string script, string key, string argument)
    {
        string? expected;
        using (var document = JsonDocument.Parse(argument))
        {
            expected = document.RootElement.GetProperty("expected").ValueKind == JsonValueKind.Null ? null : document.RootElement.GetProperty("expected").GetString();
        }

        if (expected is not null && !IsJson(expected))
        {
            return (null, "the expected value did not reach the server as JSON");
        }

        var (value, ttl, error) = ReadValue(argument);
        if (error is not null)
        {
            return (null, error);
        }

        using var transaction = connection.BeginTransaction();
        var current = ReadLive(connection, transaction, script, key);
        if (!SameJson(current, expected))
        {
            return ("false", null);
        }

        if (Fits(connection, transaction, script, key, value!) is { } tooBig)
        {
            return (null, tooBig);
        }

        Write(connection, transaction, script, key, value!, ttl);
        transaction.Commit();
        return ("true", null);
    }

    private (string? Value, double? Ttl, string? Error) ReadValue(string argument)
    {
        using var document = JsonDocument.Parse(argument);
        var root = document.RootElement;
        var value = root.GetProperty("value").GetString();
        if (value is null || !IsJson(value))
        {
            return (null, null, "the value did not reach the server as JSON");
        }

        if (Encoding.UTF8.GetByteCount(value) > _options.MaxValueBytes)
        {
            return (null, null, $"the value is over {_options.MaxValueBytes} bytes as JSON ({StorageOptions.SectionName}:MaxValueBytes)");
        }

        double? ttl = null;
        if (root.TryGetProperty("ttl", out var t) && t.ValueKind == JsonValueKind.Number)
        {
            var seconds = t.GetDouble();
            if (!(seconds > 0 && seconds <= 366 * 86400))
            {
                return (null, null, "ttl must be a number of seconds from more than 0 to 366 days");
            }

            ttl = seconds;
        }

        return (value, ttl, null);
    }

    private string? Fits(SqliteConnection connection, SqliteTransaction transaction, string script, string key, string value)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(CAST(value AS BLOB))), 0) FROM kv WHERE script = $s AND key <> $k AND (expires IS NULL OR expires > $now)";
        command.Parameters.AddWithValue("$s", script);
        command.Parameters.AddWithValue("$k", key);
        command.Parameters.AddWithValue("$now", Now);
        var others = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        var total = others + Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);
        return total > _options.MaxBytesPerScript
            ? $"the script's storage would hold {total} bytes; the limit is {_options.MaxBytesPerScript} ({StorageOptions.SectionName}:MaxBytesPerScript)"
            : null;
    }

    private void Write(SqliteConnection connection, SqliteTransaction transaction, string script, string key, string value, double? ttl)
    {
        using (var expired = connection.CreateCommand())
        {
            // Expired entries of the script go as it writes: they count for nothing and are never read.
            expired.Transaction = transaction;
            expired.CommandText = "DELETE FROM kv WHERE script = $s AND expires IS NOT NULL AND expires <= $now";
            expired.Parameters.AddWithValue("$s", script);
            expired.Parameters.AddWithValue("$now", Now);
            expired.ExecuteNonQuery();
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO kv (script, key, value, expires) VALUES ($s, $k, $v, $e) ON CONFLICT (script, key) DO UPDATE SET value = excluded.value, expires = excluded.expires";
        command.Parameters.AddWithValue("$s", script);
        command.Parameters.AddWithValue("$k", key);
        command.Parameters.AddWithValue("$v", value);
        command.Parameters.AddWithValue("$e", ttl is { } seconds ? Now + (long)(seconds * 1000) : DBNull.Value);
        command.ExecuteNonQuery();
    }

    // Two JSON texts of the same value (the script serialized both, so the same value is the same text, up to
    // numbers: 1 and 1.0 are equal).
    private static bool SameJson(string? current, string? expected)
    {
        if (current is null || expected is null)
        {
            return current is null && expected is null;
        }

        if (current == expected)
        {
            return true;
        }

        using var a = JsonDocument.Parse(current);
        using var b = JsonDocument.Parse(expected);
        return JsonElement.DeepEquals(a.RootElement, b.RootElement);
    }

    private static string Cut(string text) => text.Length > 60 ? text[..57] + "..." : text;

    // What is stored is read back raw (list, export): it must be one JSON value, whatever the script's realm sent.
    private static bool IsJson(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 1750, Level = LogLevel.Warning, Message = "Script storage is this instance's own ({Path}): in a cluster, the instances do not share it yet")]
    private static partial void PerInstance(ILogger logger, string path);

    public void Dispose()
    {
        _connection?.Dispose();
        _gate.Dispose();
    }
}
