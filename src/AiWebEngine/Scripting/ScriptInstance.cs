using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.ClearScript;
using Microsoft.ClearScript.V8;

namespace AiWebEngine.Scripting;

/// <summary>The lifecycle of one loaded version of a script.</summary>
internal enum ScriptInstanceState
{
    /// <summary>Top level and <c>init</c> are running; registrations are staged, not yet visible.</summary>
    Loading,

    /// <summary>The version that serves; registrations apply at once.</summary>
    Active,

    /// <summary>Replaced, unloaded or failed; finishes the calls it has, then is disposed.</summary>
    Retired,
}

/// <summary>
/// One version of one script in its own V8 isolate. Calls are serialized; globals persist between
/// them. Every call runs under the wall-time limit (enforced by <see cref="ScriptWatchdog"/>).
/// </summary>
/// <remarks>
/// A call that finds the isolate busy waits its turn, at most <see cref="ScriptOptions.MaxQueuedCalls"/>
/// of them at once (one more is refused with <see cref="ScriptBusyException"/>), and its wall time
/// starts when it arrives: the wait and the run share one <see cref="ScriptOptions.CallTimeout"/>, and a
/// call whose budget runs out while it waits is never run (<see cref="ScriptTimeoutException"/>).
/// Every call ahead of a waiting one arrived earlier and ends by its own deadline, so a call only runs
/// out of budget in the queue when one ahead overran its deadline (an interrupt that V8 took late).
/// </remarks>
internal sealed partial class ScriptInstance : IDisposable
{
    private static readonly string BootstrapSource = LoadBootstrap();

    private readonly V8ScriptEngine _engine;
    // The bootstrap's exports. Its functions are called with InvokeMethod: a function fetched with
    // GetProperty goes through a slower marshalling path (measured: ~150 µs against ~15 µs a call).
    private readonly ScriptObject _exports;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ScriptWatchdog _watchdog;
    private readonly TimeProvider _time;
    private readonly TimeSpan _callTimeout;
    private readonly int _maxQueued;
    private readonly Action<ScriptInstance> _onBroken;
    private readonly Lock _callLock = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _callStarted;
    private int _queued;
    private int _inFlight;
    private bool _interruptedByWatchdog;
    private bool _disposed;

    public ScriptInstance(string uri, long version, ScriptHostServices host, Action<ScriptInstance> onBroken)
    {
        _onBroken = onBroken;
        Uri = uri;
        Version = version;
        Host = host;
        var options = host.Options;
        _watchdog = host.Watchdog;
        _time = host.Time;
        _callTimeout = options.CallTimeout;
        _maxQueued = options.MaxQueuedCalls;

        var heapBytes = (ulong)options.MaxHeapMiB * 1024 * 1024;
        // V8's own heap limit ends the whole process when it is reached, so it is only the backstop:
        // with a heap expansion multiplier V8 grows the limit instead of aborting, and ClearScript's
        // heap monitor (sampling every 10 ms) fails the call once the heap passes MaxHeapMiB. The
        // isolate is then unusable, so the script is reloaded into a fresh one (see IsBroken).
        // The monitor sits well below the hard limit (twice the budget), or a fast allocation reaches
        // the hard limit between two samples.
        var constraints = new V8RuntimeConstraints
        {
            MaxOldSpaceSize = options.MaxHeapMiB * 2,
            HeapExpansionMultiplier = 2,
            MaxArrayBufferAllocation = checked((nuint)heapBytes),
        };
        _engine = new V8ScriptEngine(uri, constraints, V8ScriptEngineFlags.EnableTaskPromiseConversion | V8ScriptEngineFlags.HideHostExceptions)
        {
            MaxRuntimeHeapSize = checked((nuint)heapBytes),
            RuntimeHeapSizeSampleInterval = TimeSpan.FromMilliseconds(10),
            MaxRuntimeStackUsage = checked((nuint)options.MaxStackKiB * 1024),
            AllowReflection = false,
            EnableAutoHostVariables = false,
            // Only [ScriptMember] methods of the host object are visible: not even ToString or GetType.
            DefaultAccess = ScriptAccess.None,
        };

        ScriptLockdown.Apply(_engine);
        var bootstrap = (ScriptObject)_engine.Evaluate(new DocumentInfo("aiwebengine:bootstrap.js"), BootstrapSource);
        _exports = (ScriptObject)bootstrap.InvokeAsFunction(new ScriptHostApi(this));
        _watchdog.Track(this);
    }

    /// <summary>The script's URI: its path under the scripts directory, with <c>/</c> separators.</summary>
    public string Uri { get; }

    /// <summary>Increases with every load of the same URI.</summary>
    public long Version { get; }

    /// <remarks>Becoming <see cref="ScriptInstanceState.Active"/> starts the timers set while loading (timers are registrations too).</remarks>
    public ScriptInstanceState State
    {
        get => _state;
        set
        {
            _state = value;
            if (value == ScriptInstanceState.Active)
            {
                StartStagedTimers();
                StartJobs();
            }
            else if (value == ScriptInstanceState.Retired)
            {
                Host.Schedules.Retire(Uri, Version);
            }
        }
    }

    private volatile ScriptInstanceState _state = ScriptInstanceState.Loading;

    /// <summary>Set when a call broke the heap limit: the isolate is unusable and the script must be reloaded.</summary>
    public bool IsBroken { get; private set; }

    /// <summary>The engine services the script API reaches.</summary>
    public ScriptHostServices Host { get; }

    public IScriptRegistrar Registrar => Host.Registrar;

    /// <summary>Registrations made while <see cref="State"/> is <see cref="ScriptInstanceState.Loading"/>.</summary>
    public ScriptRegistrations Staged { get; } = new();

    /// <summary>
    /// Distinct registrations this version has made, loading and since; kept by the registration
    /// coordinator under its lock and bounded by <see cref="ScriptOptions.MaxRegistrations"/>.
    /// </summary>
    public int Registrations { get; set; }

    /// <summary>Calls waiting for the running one to finish.</summary>
    public int QueuedCalls => Volatile.Read(ref _queued);

    // Answers handed over by ScriptHostApi.Respond, by the token the handler's call returns: with calls
    // interleaving while they await, "the running handler" is not one call.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, ScriptResponse> _responses = new();
    private long _nextResponse;

    /// <summary>Keeps a checked answer until its call collects it; returns the token the bootstrap hands back as the call's result.</summary>
    public long KeepResponse(ScriptResponse response)
    {
        var token = Interlocked.Increment(ref _nextResponse);
        _responses[token] = response;
        return token;
    }

    // ---- timers: setTimeout and setInterval ----------------------------------------------------

    // Timers by id (the bootstrap's); under _callLock. A timer's run is a call like any other: it waits
    // for the gate, and its callback and the Promise it returns share one CallTimeout.
    private readonly Dictionary<int, (ITimer Timer, bool Repeat)> _timers = [];
    private readonly HashSet<int> _timersRunning = [];
    private readonly List<(int Id, TimeSpan Delay, TimeSpan Period)> _stagedTimers = [];

    /// <summary>Sets timer <paramref name="id"/>; an error message when a limit refuses it.</summary>
    public string? SetTimer(int id, double delayMilliseconds, bool repeat)
    {
        var options = Host.Options;
        // As in Node.js: a delay that is not a number from 1 ms to 2^31 - 1 ms is 1 ms.
        var delay = delayMilliseconds is >= 1 and <= int.MaxValue ? TimeSpan.FromMilliseconds(delayMilliseconds) : TimeSpan.FromMilliseconds(1);
        if (repeat && delay < options.MinTimerInterval)
        {
            return $"the shortest interval is {options.MinTimerInterval.TotalMilliseconds:0.###} ms (AiWebEngine:Scripts:MinTimerInterval), got {delayMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }

        lock (_callLock)
        {
            if (_disposed)
            {
                return "the script is unloaded";
            }

            if (_timers.Count >= options.MaxTimers)
            {
                return $"a script may hold at most {options.MaxTimers} timers at once (AiWebEngine:Scripts:MaxTimers); clear the ones it no longer needs";
            }

            var period = repeat ? delay : Timeout.InfiniteTimeSpan;
            // Created disarmed: a version that is still loading starts its timers when it serves, like its
            // other registrations (a reload's new timers never run beside the old ones).
            var timer = _time.CreateTimer(static s => { var (instance, id) = ((ScriptInstance, int))s!; _ = instance.FireTimerAsync(id); }, (this, id), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timers[id] = (timer, repeat);
            if (State == ScriptInstanceState.Active)
            {
                timer.Change(delay, period);
            }
            else
            {
                _stagedTimers.Add((id, delay, period));
            }
        }

        return null;
    }

    private void StartStagedTimers()
    {
        lock (_callLock)
        {
            foreach (var (id, delay, period) in _stagedTimers)
            {
                if (_timers.TryGetValue(id, out var timer))
                {
                    timer.Timer.Change(delay, period);
                }
            }

            _stagedTimers.Clear();
        }
    }

    /// <summary>Clears timer <paramref name="id"/>; nothing when it has fired or was cleared.</summary>
    public void ClearTimer(int id)
    {
        lock (_callLock)
        {
            if (_timers.Remove(id, out var timer))
            {
                timer.Timer.Dispose();
            }
        }
    }

    /// <summary>The timers this version holds.</summary>
    public int Timers
    {
        get
        {
            lock (_callLock)
            {
                return _timers.Count;
            }
        }
    }

    private async Task FireTimerAsync(int id)
    {
        lock (_callLock)
        {
            // A retired version's timers run only while it still has calls (a handler awaiting one); an
            // interval whose last run has not finished skips this tick.
            if (_disposed || !_timers.TryGetValue(id, out var timer) || (State == ScriptInstanceState.Retired && Volatile.Read(ref _inFlight) == 0) || !_timersRunning.Add(id))
            {
                return;
            }

            if (!timer.Repeat)
            {
                // Fired: a timeout no longer counts against MaxTimers.
                _timers.Remove(id);
                timer.Timer.Dispose();
            }
        }

        try
        {
            // Checked again in the isolate: the version may have been replaced while this run waited for it.
            await RunAsync(() => State == ScriptInstanceState.Retired && Volatile.Read(ref _inFlight) <= 1 ? null : _exports.InvokeMethod("fireTimer", id), CancellationToken.None);
        }
        catch (ScriptFailedException e)
        {
            Host.Logger.Write(Uri, LogLevel.Error, "timer " + id.ToString(System.Globalization.CultureInfo.InvariantCulture) + " failed: " + e.Describe());
        }
        catch (ObjectDisposedException)
        {
            // Unloaded meanwhile: its timers are gone.
        }
        finally
        {
            lock (_callLock)
            {
                _timersRunning.Remove(id);
            }
        }
    }

    // ---- fetch ------------------------------------------------------------------------------------

    /// <summary>
    /// Starts fetch <paramref name="id"/> (the bootstrap's) and returns at once; an error message when the
    /// request is refused before it is sent. The outcome settles the script's Promise in a run of its own.
    /// </summary>
    public string? Fetch(int id, string url, string method, string? headersJson, byte[]? body)
    {
        var (request, error) = Host.Fetcher.Prepare(url, method, headersJson, body);
        if (request is null)
        {
            return error;
        }

        _ = CompleteFetchAsync(id, request);
        return null;
    }

    private async Task CompleteFetchAsync(int id, Fetch.FetchRequest request)
    {
        var outcome = await Host.Fetcher.SendAsync(Uri, request);
        var body = outcome.Body is { } bytes ? string.Create(bytes.Length, bytes, static (chars, b) => { for (var i = 0; i < b.Length; i++) { chars[i] = (char)b[i]; } }) : null;
        try
        {
            await RunAsync(() => _exports.InvokeMethod("settleFetch", id, outcome.Error, outcome.Status, outcome.Url, outcome.HeadersJson, body, outcome.Redirected), CancellationToken.None);
        }
        catch (ScriptFailedException e)
        {
            Host.Logger.Write(Uri, LogLevel.Error, "fetch " + id.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": settling its Promise failed: " + e.Describe());
        }
        catch (ObjectDisposedException)
        {
            // Unloaded meanwhile: nobody waits for it.
        }
    }

    // ---- storage ----------------------------------------------------------------------------------

    /// <summary>Starts storage operation <paramref name="id"/> in this script's namespace; an error message when the key is refused at once.</summary>
    public string? Storage(int id, string operation, string key, string? argument)
    {
        if (Host.Storage.CheckKey(key, prefix: operation == "list") is { } refused)
        {
            return refused;
        }

        _ = CompleteStorageAsync(id, operation, key, argument);
        return null;
    }

    private async Task CompleteStorageAsync(int id, string operation, string key, string? argument)
    {
        var (json, error) = await Task.Run(() => Host.Storage.RunAsync(Uri, operation, key, argument));
        try
        {
            await RunAsync(() => _exports.InvokeMethod("settleStorage", id, error, json), CancellationToken.None);
        }
        catch (ScriptFailedException e)
        {
            Host.Logger.Write(Uri, LogLevel.Error, "storage." + operation + ": settling its Promise failed: " + e.Describe());
        }
        catch (ObjectDisposedException)
        {
            // Unloaded meanwhile: the operation is done, nobody waits for its result.
        }
    }

    // ---- named jobs: schedule(name, spec, handler) ------------------------------------------------

    private sealed class Job(string name, ScheduleSpec spec, string handlerRef, ScheduleBoard.JobStatus status)
    {
        public string Name { get; } = name;

        public ScheduleSpec Spec { get; } = spec;

        public string HandlerRef { get; } = handlerRef;

        public ScheduleBoard.JobStatus Status { get; } = status;

        public ITimer? Timer { get; set; }

        public DateTimeOffset? NextAt { get; set; }

        public int Running;
    }

    // Under _callLock.
    private readonly Dictionary<string, Job> _jobs = new(StringComparer.Ordinal);

    // A timer cannot wait much more than 49 days at once: a later tick is reached in steps.
    private static readonly TimeSpan MaxTimerStep = TimeSpan.FromDays(20);

    /// <summary>Schedules job <paramref name="name"/>; an error message when the name, the spec or a limit refuses it.</summary>
    public string? Schedule(string name, string specText, string handlerRef)
    {
        if (name.Length > 100 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
        {
            return $"name must be 1 to 100 letters, digits, '_', '-' or '.', got '{(name.Length > 60 ? name[..57] + "..." : name)}'";
        }

        if (!ScheduleSpec.TryParse(specText, out var spec, out var error))
        {
            return error;
        }

        Job job;
        lock (_callLock)
        {
            if (_disposed)
            {
                return "the script is unloaded";
            }

            if (_jobs.ContainsKey(name))
            {
                return $"a job named '{name}' is already scheduled by this script";
            }

            if (_jobs.Count >= Host.Options.MaxSchedules)
            {
                return $"a script may schedule at most {Host.Options.MaxSchedules} jobs (AiWebEngine:Scripts:MaxSchedules)";
            }

            job = new Job(name, spec!, handlerRef, new ScheduleBoard.JobStatus(Uri, name, spec!.Text, Version));
            job.Timer = _time.CreateTimer(static s => { var (instance, job) = ((ScriptInstance, Job))s!; _ = instance.FireJobAsync(job); }, (this, job), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _jobs[name] = job;
            if (State == ScriptInstanceState.Active)
            {
                Host.Schedules.Add(job.Status);
                ArmJob(job);
            }
        }

        return null;
    }

    // Under _callLock. The next tick after now; a wait longer than a timer takes is made in steps.
    private void ArmJob(Job job)
    {
        var now = _time.GetUtcNow();
        job.NextAt = job.Spec.Next(now);
        job.Status.Next(job.NextAt);
        if (job.NextAt is { } next)
        {
            var due = next - now;
            job.Timer!.Change(due < MaxTimerStep ? due : MaxTimerStep, Timeout.InfiniteTimeSpan);
        }
    }

    private void StartJobs()
    {
        lock (_callLock)
        {
            Host.Schedules.Activate(Uri, Version, _jobs.Values.Select(j => j.Status));
            foreach (var job in _jobs.Values)
            {
                ArmJob(job);
            }
        }
    }

    private async Task FireJobAsync(Job job)
    {
        DateTimeOffset tick;
        lock (_callLock)
        {
            // Only the version that serves runs its jobs (a retired one, not even for calls it still has).
            if (_disposed || State != ScriptInstanceState.Active || job.NextAt is not { } at)
            {
                return;
            }

            if (_time.GetUtcNow() < at)
            {
                // One step of a long wait.
                var due = at - _time.GetUtcNow();
                job.Timer!.Change(due < MaxTimerStep ? due : MaxTimerStep, Timeout.InfiniteTimeSpan);
                return;
            }

            tick = at;
            ArmJob(job);
        }

        if (!await Host.Lease.TryTakeAsync(Uri + ":" + job.Name, tick, CancellationToken.None))
        {
            job.Status.Elsewhere();
            return;
        }

        if (Interlocked.Exchange(ref job.Running, 1) == 1)
        {
            Host.Logger.Write(Uri, LogLevel.Warning, $"job {job.Name}: the tick at {tick:o} was skipped, its previous run is still running");
            return;
        }

        var started = _time.GetUtcNow();
        var outcome = "ok";
        string? error = null;
        try
        {
            var context = System.Text.Json.JsonSerializer.Serialize(new { name = job.Name, script = Uri, scheduledAt = tick.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) });
            await RunAsync(() => _exports.InvokeMethod("runJob", job.HandlerRef, context), CancellationToken.None);
        }
        catch (ScriptFailedException e)
        {
            outcome = e is ScriptTimeoutException ? "timeout" : "error";
            error = e.Describe();
            Host.Logger.Write(Uri, LogLevel.Error, $"job {job.Name} failed: {error}");
        }
        catch (ObjectDisposedException)
        {
            outcome = "unloaded";
        }
        finally
        {
            var duration = _time.GetUtcNow() - started;
            job.Status.Ran(started, duration, outcome, error);
            Host.Metrics?.JobRan(Uri, job.Name, outcome, duration);
            Volatile.Write(ref job.Running, 0);
        }
    }

    /// <summary>Runs the script's top-level code.</summary>
    /// <remarks>
    /// The document is named by a <c>file:///</c> URI so that V8 reports locations as <c>/chat/rooms.js:3:7</c>;
    /// a plain name would be cut to its last segment.
    /// </remarks>
    public Task ExecuteAsync(string source, CancellationToken cancellationToken) =>
        RunAsync(() => { _engine.Execute(new DocumentInfo(new Uri("file:///" + Uri)), source); return null; }, cancellationToken);

    /// <summary>Calls <c>init(context)</c> when the script defines it, and awaits a returned Promise.</summary>
    public Task InitAsync(string contextJson, CancellationToken cancellationToken) =>
        RunAsync(() => _exports.InvokeMethod("runInit", contextJson), cancellationToken);

    /// <summary>Whether <paramref name="handlerRef"/> names a function now.</summary>
    public async Task<bool> IsFunctionAsync(string handlerRef, CancellationToken cancellationToken)
    {
        var result = false;
        await RunAsync(() => { result = _exports.InvokeMethod("isFunction", handlerRef) is true; return null; }, cancellationToken);
        return result;
    }

    /// <summary>Calls a route handler with the request as JSON and returns what it answered.</summary>
    /// <remarks>
    /// A plain answer (status 200, the default content type, no headers) comes back as the call's result,
    /// the body; any other goes through <see cref="ScriptHostApi.Respond"/>, which checks it and keeps it
    /// under a token that comes back as the call's result. An answer that HTTP cannot carry is never kept,
    /// so it fails the call whatever the bootstrap then does.
    /// </remarks>
    public async Task<ScriptResponse> HandleAsync(string handlerRef, string requestJson, CancellationToken cancellationToken)
    {
        var result = await RunAsync(() => _exports.InvokeMethod("dispatch", handlerRef, requestJson), cancellationToken);
        if (result is string body)
        {
            return ScriptResponse.Plain(body);
        }

        // A token from KeepResponse: only the call that produced the answer returns it.
        if (result is int or long or double && _responses.TryRemove(Convert.ToInt64(result, System.Globalization.CultureInfo.InvariantCulture), out var response))
        {
            return response;
        }

        throw new ScriptFailedException(Uri, "the handler finished without producing a response");
    }

    /// <summary>
    /// Calls a GraphQL resolver with its arguments and context (both JSON) and returns its result as
    /// JSON, or <see langword="null"/> when it returned <c>undefined</c>.
    /// </summary>
    public async Task<string?> ResolveAsync(string resolverRef, string argumentsJson, string contextJson, CancellationToken cancellationToken) =>
        await RunAsync(() => _exports.InvokeMethod("resolveField", resolverRef, argumentsJson, contextJson), cancellationToken) as string;

    /// <summary>
    /// Calls a stream's <c>authorize</c> hook with the connecting request (JSON) and returns what it
    /// returned as JSON, or <see langword="null"/> for <c>undefined</c>. The JSON comes from the script's
    /// realm: the caller validates it.
    /// </summary>
    /// <summary>Calls a subscription's <c>filter(payload, args, context)</c>; true only when it returned exactly <c>true</c>.</summary>
    public async Task<bool> FilterAsync(string filterRef, string payload, string argumentsJson, string contextJson, CancellationToken cancellationToken) =>
        await RunAsync(() => _exports.InvokeMethod("filterEvent", filterRef, payload, argumentsJson, contextJson), cancellationToken) is string json && json == "true";

    public async Task<string?> AuthorizeAsync(string hookRef, string requestJson, CancellationToken cancellationToken) =>
        await RunAsync(() => _exports.InvokeMethod("authorizeStream", hookRef, requestJson), cancellationToken) as string;

    /// <summary>
    /// Runs <paramref name="call"/> in the isolate, and awaits the Promise it may return without holding
    /// the isolate: while one call waits (a timer, I/O), the script's other calls run. JavaScript still
    /// never runs on two threads at once: every entry into the isolate (a call, a timer) holds the gate.
    /// </summary>
    /// <remarks>
    /// The call's wall time starts when it arrives and covers its wait for the gate, its run and its
    /// Promise: one <see cref="ScriptOptions.CallTimeout"/> for all of it.
    /// </remarks>
    private async Task<object?> RunAsync(Func<object?> call, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var outcome = "error";
        Interlocked.Increment(ref _inFlight);
        try
        {
            object? result;
            if (!_gate.Wait(0, CancellationToken.None))
            {
                await WaitForTurnAsync(started, cancellationToken);
            }

            try
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_time.GetElapsedTime(started) >= _callTimeout)
                {
                    // The gate came just as the budget ran out: the call is not started.
                    throw new ScriptTimeoutException(Uri, _callTimeout, whileQueued: true);
                }

                result = Invoke(call, started);
            }
            finally
            {
                _gate.Release();
            }

            if (result is Task promise)
            {
                if (!promise.IsCompleted)
                {
                    // Pending: the rest of the wall-time budget is all it gets (a Promise may never settle).
                    var remaining = _callTimeout - _time.GetElapsedTime(started);
                    try
                    {
                        await promise.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time, cancellationToken);
                    }
                    catch (TimeoutException)
                    {
                        throw new ScriptTimeoutException(Uri, _callTimeout);
                    }
                    catch (Exception e) when (e is ScriptEngineException or ScriptInterruptedException)
                    {
                        throw Translate(e, rejected: true);
                    }
                }

                try
                {
                    await promise;
                    result = promise is Task<object> valued ? valued.Result : null;
                }
                catch (Exception e) when (e is ScriptEngineException or ScriptInterruptedException)
                {
                    throw Translate(e, rejected: true);
                }
            }

            outcome = "ok";
            return result is Undefined ? null : result;
        }
        catch (ScriptTimeoutException)
        {
            outcome = "timeout";
            throw;
        }
        finally
        {
            Host.Metrics?.ScriptCalled(Uri, outcome, _time.GetElapsedTime(started));
            if (Interlocked.Decrement(ref _inFlight) == 0 && State == ScriptInstanceState.Retired)
            {
                _idle.TrySetResult();
            }
        }
    }

    /// <summary>Waits for the gate, within the call's budget; the caller holds it when this returns.</summary>
    private async Task WaitForTurnAsync(long started, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _queued) > _maxQueued)
        {
            Interlocked.Decrement(ref _queued);
            Host.Metrics?.ScriptCalled(Uri, "busy", TimeSpan.Zero);
            throw new ScriptBusyException(Uri, _maxQueued);
        }

        try
        {
            var budget = _callTimeout - _time.GetElapsedTime(started);
            using var expired = new CancellationTokenSource(budget > TimeSpan.Zero ? budget : TimeSpan.Zero, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expired.Token);
            try
            {
                await _gate.WaitAsync(linked.Token);
            }
            catch (OperationCanceledException) when (expired.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Host.Metrics?.ScriptCalled(Uri, "timeout", _time.GetElapsedTime(started));
                throw new ScriptTimeoutException(Uri, _callTimeout, whileQueued: true);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    private object? Invoke(Func<object?> call, long started)
    {
        lock (_callLock)
        {
            // The watchdog measures from the call's arrival, so the wait counts in its budget.
            _callStarted = started;
            _interruptedByWatchdog = false;
        }

        try
        {
            return call();
        }
        catch (Exception e) when (e is ScriptEngineException or ScriptInterruptedException)
        {
            throw Translate(e);
        }
        finally
        {
            lock (_callLock)
            {
                _callStarted = 0;
            }
        }
    }

    /// <summary>Called by the watchdog: interrupts the running call if it is over the limit.</summary>
    public void InterruptIfOverdue(long now)
    {
        lock (_callLock)
        {
            if (_callStarted == 0 || _disposed || _time.GetElapsedTime(_callStarted, now) < _callTimeout)
            {
                return;
            }

            // Keep interrupting on every tick until the call returns: V8 can miss an interrupt that
            // arrives inside one long built-in call (a huge Array.fill, say).
            _interruptedByWatchdog = true;
            _engine.Interrupt();
        }
    }

    private ScriptFailedException Translate(Exception e, bool rejected = false)
    {
        bool timedOut;
        lock (_callLock)
        {
            // A rejected Promise settles in some later run of the isolate: that run's interrupt is not this call's.
            timedOut = !rejected && _interruptedByWatchdog;
        }

        if (timedOut)
        {
            return new ScriptTimeoutException(Uri, _callTimeout);
        }

        if (IsHeapViolation(e))
        {
            IsBroken = true;
            _onBroken(this);
            return new ScriptFailedException(Uri, $"the script went past its V8 heap limit ({(ulong)_engine.MaxRuntimeHeapSize / 1024 / 1024} MiB, AiWebEngine:Scripts:MaxHeapMiB); it is reloaded in a fresh isolate", null, e);
        }

        var details = (e as ScriptEngineException)?.ErrorDetails ?? e.Message;
        // What a script throws is logged, kept by /health and sent to clients: no secret's value in it.
        // The V8 exception is not kept as the inner exception: its message and details are the script's own,
        // unmasked, and loggers print inner exceptions. The JavaScript stack is kept, masked and cut.
        var stack = details.Length > 8192 ? details[..8192] + "... (stack cut)" : details;
        return new ScriptFailedException(Uri, Host.Logger.Secrets.Redact(CleanMessage(e.Message)), FindLine(details))
        {
            ScriptStack = Host.Logger.Secrets.Redact(stack),
        };
    }

    // The heap monitor blocks the isolate and reports a fatal error; nothing else does.
    private static bool IsHeapViolation(Exception e) => e is ScriptEngineException { IsFatal: true };

    private static string CleanMessage(string message)
    {
        // V8 messages read "Error: text"; keep the text and the error type when it is not plain Error.
        return message.StartsWith("Error: ", StringComparison.Ordinal) ? message["Error: ".Length..] : message;
    }

    // Line by line, skipping long lines: the details start with the script's own message, and the
    // pattern backtracks quadratically over a long run without a colon (a 10 MiB message would
    // hold the thread for hours). Stack frames are short.
    private int? FindLine(string details)
    {
        foreach (var text in details.AsSpan().EnumerateLines())
        {
            if (text.Length > 4096)
            {
                continue;
            }

            foreach (var match in LocationPattern().EnumerateMatches(text))
            {
                var found = text.Slice(match.Index, match.Length);
                var lineStart = found[..found.LastIndexOf(':')].LastIndexOf(':');
                if (found[..lineStart].TrimStart('/').SequenceEqual(Uri) && int.TryParse(found[(lineStart + 1)..found.LastIndexOf(':')], out var line))
                {
                    return line;
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"(?<uri>[^\s()]+):(?<line>\d+):\d+")]
    private static partial Regex LocationPattern();

    private static string LoadBootstrap()
    {
        using var stream = typeof(ScriptInstance).Assembly.GetManifestResourceStream("AiWebEngine.Scripting.bootstrap.js")
            ?? throw new UnreachableException("bootstrap.js is an embedded resource of AiWebEngine.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// Waits until no call is in flight (running, or awaiting its Promise: each ends by its deadline), then
    /// releases the isolate and its timers. Call it once <see cref="State"/> is <see cref="ScriptInstanceState.Retired"/>.
    /// </summary>
    public async Task DisposeWhenIdleAsync()
    {
        if (Volatile.Read(ref _inFlight) > 0)
        {
            await _idle.Task;
        }

        await _gate.WaitAsync();
        try
        {
            Dispose();
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        lock (_callLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        State = ScriptInstanceState.Retired;
        _watchdog.Untrack(this);
        lock (_callLock)
        {
            foreach (var timer in _timers.Values)
            {
                timer.Timer.Dispose();
            }

            _timers.Clear();
            foreach (var job in _jobs.Values)
            {
                job.Timer?.Dispose();
            }

            _jobs.Clear();
        }

        // Dispose alone does not stop a script that is running on another thread.
        _engine.Interrupt();
        _engine.Dispose();
    }
}
