using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Scripting;

/// <summary>What is known about one script URI: the version that serves and the last failure.</summary>
public sealed record ScriptStatus(string Uri, bool IsActive, DateTimeOffset? LoadedAt, int SizeBytes, string? Error, int? ErrorLine);

/// <summary>What happened to a script.</summary>
public enum ScriptChangeKind
{
    Inserted,
    Updated,
    Removed,
    Failed,
}

/// <summary>One change of a script, however it came (file, reload after a heap failure, API).</summary>
public sealed record ScriptChange(string Uri, ScriptChangeKind Kind, string? Error, int? ErrorLine, DateTimeOffset Timestamp);

/// <summary>
/// Loads, reloads and unloads scripts with the reload rules of SPEC §2: a new version is compiled
/// and run in a fresh isolate first, and only when its top level and <c>init</c> succeed do its
/// registrations replace the old ones, in one step. A version that fails changes nothing.
/// </summary>
internal sealed partial class ScriptManager : IDisposable
{
    private readonly ConcurrentDictionary<string, ScriptRecord> _records = new(StringComparer.Ordinal);
    private readonly ScriptOptions _options;
    private readonly RegistrationCoordinator _coordinator;
    private readonly ScriptHostServices _host;
    private readonly TimeProvider _time;
    private readonly ILogger<ScriptManager> _logger;
    private long _versions;

    public ScriptManager(IOptions<ScriptOptions> options, RegistrationCoordinator coordinator, ScriptLogger scriptLogger, ScriptWatchdog watchdog, StreamPublisher streams, GraphQL.SubscriptionPublisher subscriptions, TimeProvider time, ILogger<ScriptManager> logger, ScheduleBoard schedules, ITickLease lease, Fetch.ScriptFetcher fetcher, Storage.ScriptStorage storage, Diagnostics.Metrics.EngineMetrics? metrics = null)
    {
        _options = options.Value;
        _coordinator = coordinator;
        _host = new ScriptHostServices(_options, coordinator, scriptLogger, watchdog, streams, subscriptions, time, schedules, lease, fetcher, storage, metrics);
        _time = time;
        _logger = logger;
    }

    /// <summary>Raised after every load, failed load and unload.</summary>
    public event Action<ScriptChange>? Changed;

    /// <summary>Every known script, in URI order.</summary>
    public IReadOnlyList<ScriptStatus> Statuses =>
        _records.Values.Select(r => r.Status()).Where(s => s.IsActive || s.Error is not null).OrderBy(s => s.Uri, StringComparer.Ordinal).ToList();

    /// <summary>The source of the version of <paramref name="uri"/> that serves, or <see langword="null"/>.</summary>
    public string? SourceOf(string uri) => _records.TryGetValue(uri, out var record) ? record.Source : null;

    /// <summary>
    /// Loads <paramref name="source"/> as the new version of <paramref name="uri"/>.
    /// </summary>
    /// <remarks>
    /// The source of the version that serves, with no failure since, is not loaded again: the file
    /// event that follows an upload through the management API (which loads first, then writes the
    /// file) changes nothing. Through <see cref="UploadAsync"/>, a failed version is reported
    /// (logged, <see cref="Changed"/>) but not remembered in <see cref="Statuses"/>: an upload that is
    /// refused exists nowhere, so it must not leave the script marked as failed.
    /// </remarks>
    /// <returns><see langword="null"/> when the new version serves; otherwise why it failed (the previous version, if any, still serves).</returns>
    public Task<ScriptFailedException?> LoadAsync(string uri, string source, bool isStartup, CancellationToken cancellationToken = default) =>
        LoadAsync(uri, source, isStartup, keepFailure: true, cancellationToken);

    /// <summary>Loads an uploaded version: like <see cref="LoadAsync(string, string, bool, CancellationToken)"/>, but a failure is not remembered.</summary>
    public Task<ScriptFailedException?> UploadAsync(string uri, string source, CancellationToken cancellationToken) =>
        LoadAsync(uri, source, isStartup: false, keepFailure: false, cancellationToken);

    private async Task<ScriptFailedException?> LoadAsync(string uri, string source, bool isStartup, bool keepFailure, CancellationToken cancellationToken)
    {
        var record = _records.GetOrAdd(uri, static u => new ScriptRecord(u));
        await record.Gate.WaitAsync(cancellationToken);
        try
        {
            if (record.ActiveInstance is not null && record.Source == source && record.Status().Error is null)
            {
                return null;
            }

            return await LoadLockedAsync(record, source, isStartup, keepFailure, cancellationToken);
        }
        finally
        {
            record.Gate.Release();
        }
    }

    private async Task<ScriptFailedException?> LoadLockedAsync(ScriptRecord record, string source, bool isStartup, bool keepFailure, CancellationToken cancellationToken)
    {
        var uri = record.Uri;
        var size = Encoding.UTF8.GetByteCount(source);
        if (size > _options.MaxSourceBytes)
        {
            return Fail(record, new ScriptFailedException(uri, $"the script is {size} bytes; the limit is {_options.MaxSourceBytes} bytes (AiWebEngine:Scripts:MaxSourceBytes)"), keepFailure);
        }

        ScriptInstance? instance = null;
        try
        {
            instance = new ScriptInstance(uri, Interlocked.Increment(ref _versions), _host, OnBroken);
            await instance.ExecuteAsync(source, cancellationToken);
            await instance.InitAsync(InitContext(uri, isStartup), cancellationToken);
            foreach (var (what, handlerRef) in instance.Staged.NamedHandlers())
            {
                if (!await instance.IsFunctionAsync(handlerRef, cancellationToken))
                {
                    throw new ScriptFailedException(uri, $"{what}: '{handlerRef}' is not a function when the script has finished loading");
                }
            }

            _coordinator.Activate(instance);
        }
        catch (ScriptFailedException e)
        {
            instance?.Dispose();
            return Fail(record, e, keepFailure);
        }

        var previous = record.Activate(instance, source, size, _time.GetUtcNow());
        if (previous is not null)
        {
            previous.State = ScriptInstanceState.Retired;
            _ = previous.DisposeWhenIdleAsync();
        }

        ScriptLoaded(_logger, uri, previous is null ? "loaded" : "reloaded");
        Raise(uri, previous is null ? ScriptChangeKind.Inserted : ScriptChangeKind.Updated, null);
        return null;
    }

    /// <summary>
    /// Records that the file of <paramref name="uri"/> could not be read as a script: logged, shown in
    /// <see cref="Statuses"/> and raised as a failed change; the version that serves, if any, stays.
    /// </summary>
    public async Task ReportUnreadableAsync(string uri, string error)
    {
        var record = _records.GetOrAdd(uri, static u => new ScriptRecord(u));
        await record.Gate.WaitAsync();
        try
        {
            Fail(record, new ScriptFailedException(uri, error), keep: true);
        }
        finally
        {
            record.Gate.Release();
        }
    }

    /// <summary>Removes the script and all of its registrations. Returns whether it was known.</summary>
    public async Task<bool> UnloadAsync(string uri)
    {
        if (!_records.TryGetValue(uri, out var record))
        {
            return false;
        }

        await record.Gate.WaitAsync();
        try
        {
            var active = record.Deactivate();
            _coordinator.Remove(uri);
            _records.TryRemove(new KeyValuePair<string, ScriptRecord>(uri, record));
            if (active is not null)
            {
                active.State = ScriptInstanceState.Retired;
                _ = active.DisposeWhenIdleAsync();
                ScriptUnloaded(_logger, uri);
            }

            Raise(uri, ScriptChangeKind.Removed, null);

            return active is not null || record.Status().Error is not null;
        }
        finally
        {
            record.Gate.Release();
        }
    }

    private ScriptFailedException Fail(ScriptRecord record, ScriptFailedException error, bool keep)
    {
        if (keep)
        {
            record.Failed(error);
        }

        ScriptLoadFailed(_logger, record.Uri, error.Describe(), record.Status().IsActive ? "the previous version keeps serving" : "the script is not loaded");
        Raise(record.Uri, ScriptChangeKind.Failed, error);
        return error;
    }

    // A call broke the heap limit: the isolate cannot be trusted, so the script is reloaded from the
    // source of the version that serves, in a fresh isolate.
    private void OnBroken(ScriptInstance instance)
    {
        if (!_records.TryGetValue(instance.Uri, out var record) || record.Source is not { } source)
        {
            return;
        }

        HeapLimitReached(_logger, instance.Uri);
        _ = Task.Run(async () =>
        {
            await record.Gate.WaitAsync();
            try
            {
                if (record.ActiveInstance == instance)
                {
                    await LoadLockedAsync(record, source, isStartup: false, keepFailure: true, CancellationToken.None);
                }
            }
            finally
            {
                record.Gate.Release();
            }
        });
    }

    private void Raise(string uri, ScriptChangeKind kind, ScriptFailedException? error) =>
        Changed?.Invoke(new ScriptChange(uri, kind, error?.Message, error?.Line, _time.GetUtcNow()));

    private string InitContext(string uri, bool isStartup)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("scriptName", uri);
            json.WriteString("timestamp", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
            json.WriteBoolean("isStartup", isStartup);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    public void Dispose()
    {
        foreach (var record in _records.Values)
        {
            record.Deactivate()?.Dispose();
        }
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Script {ScriptUri} {Action}")]
    private static partial void ScriptLoaded(ILogger logger, string scriptUri, string action);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Script {ScriptUri} failed to load: {Error}; {Consequence}")]
    private static partial void ScriptLoadFailed(ILogger logger, string scriptUri, string error, string consequence);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Script {ScriptUri} unloaded")]
    private static partial void ScriptUnloaded(ILogger logger, string scriptUri);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Script {ScriptUri} went past its heap limit; reloading it in a fresh isolate")]
    private static partial void HeapLimitReached(ILogger logger, string scriptUri);

    /// <summary>The mutable state of one URI; changed only while <see cref="Gate"/> is held.</summary>
    private sealed class ScriptRecord(string uri)
    {
        private readonly Lock _sync = new();
        private DateTimeOffset? _loadedAt;
        private int _size;
        private ScriptFailedException? _error;

        public string Uri { get; } = uri;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ScriptInstance? ActiveInstance { get; private set; }

        public string? Source { get; private set; }

        public ScriptInstance? Activate(ScriptInstance instance, string source, int size, DateTimeOffset now)
        {
            lock (_sync)
            {
                var previous = ActiveInstance;
                ActiveInstance = instance;
                Source = source;
                _size = size;
                _loadedAt = now;
                _error = null;
                return previous;
            }
        }

        public ScriptInstance? Deactivate()
        {
            lock (_sync)
            {
                var previous = ActiveInstance;
                ActiveInstance = null;
                Source = null;
                return previous;
            }
        }

        public void Failed(ScriptFailedException error)
        {
            lock (_sync)
            {
                _error = error;
            }
        }

        public ScriptStatus Status()
        {
            lock (_sync)
            {
                return new ScriptStatus(Uri, ActiveInstance is not null, _loadedAt, _size, _error?.Message, _error?.Line);
            }
        }
    }
}
