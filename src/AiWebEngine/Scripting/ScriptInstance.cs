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
internal sealed partial class ScriptInstance : IDisposable
{
    private static readonly string BootstrapSource = LoadBootstrap();

    private readonly V8ScriptEngine _engine;
    // The bootstrap's exports. Its functions are called with InvokeMethod: a function fetched with
    // GetProperty goes through a slower marshalling path (measured: ~150 µs against ~15 µs a call).
    private readonly ScriptObject _exports;
    private readonly Lock _queueLock = new();
    private readonly Queue<QueuedCall> _queue = new();
    // A call runs (or the drain loop is on its way); guarded by _queueLock.
    private bool _busy;
    private readonly ScriptWatchdog _watchdog;
    private readonly TimeProvider _time;
    private readonly TimeSpan _callTimeout;
    private readonly Action<ScriptInstance> _onBroken;
    private readonly Lock _callLock = new();
    private long _callStarted;
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

        var bootstrap = (ScriptObject)_engine.Evaluate(new DocumentInfo("aiwebengine:bootstrap.js"), BootstrapSource);
        _exports = (ScriptObject)bootstrap.InvokeAsFunction(new ScriptHostApi(this));
        _watchdog.Track(this);
    }

    /// <summary>The script's URI: its path under the scripts directory, with <c>/</c> separators.</summary>
    public string Uri { get; }

    /// <summary>Increases with every load of the same URI.</summary>
    public long Version { get; }

    public ScriptInstanceState State { get; set; } = ScriptInstanceState.Loading;

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

    /// <summary>The response the running handler produced; only touched by the running call.</summary>
    public ScriptResponse? CurrentResponse { get; set; }

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
    public async Task<ScriptResponse> HandleAsync(string handlerRef, string requestJson, CancellationToken cancellationToken)
    {
        ScriptResponse? response = null;
        await RunAsync(
            () => { CurrentResponse = null; return _exports.InvokeMethod("dispatch", handlerRef, requestJson); },
            cancellationToken,
            () => response = CurrentResponse);
        return response ?? throw new ScriptFailedException(Uri, "the handler finished without producing a response");
    }

    /// <summary>
    /// Calls a GraphQL resolver with its arguments and context (both JSON) and returns its result as
    /// JSON, or <see langword="null"/> when it returned <c>undefined</c>.
    /// </summary>
    public async Task<string?> ResolveAsync(string resolverRef, string argumentsJson, string contextJson, CancellationToken cancellationToken) =>
        await RunAsync(() => _exports.InvokeMethod("resolveField", resolverRef, argumentsJson, contextJson), cancellationToken) as string;

    // Calls into the isolate run one at a time. The first caller of an idle isolate runs its call at
    // once, on its own thread; callers that find it busy queue, and when the running call ends, one
    // drain loop on the thread pool runs the queued calls back to back. With a semaphore, each waiter
    // got the isolate only when its continuation was next picked from a thread-pool queue, and the
    // isolate sat idle meanwhile (measured: 20,000 `{ hello }` queries/s used 1.1 of 2 cores).
    private Task<object?> RunAsync(Func<object?> call, CancellationToken cancellationToken, Action? whileHeld = null)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<object?>(cancellationToken);
        }

        QueuedCall? queued = null;
        lock (_queueLock)
        {
            if (_busy)
            {
                queued = new QueuedCall(call, whileHeld, ExecutionContext.Capture(), cancellationToken);
                _queue.Enqueue(queued);
            }
            else
            {
                _busy = true;
            }
        }

        if (queued is null)
        {
            return RunFirstAsync(call, whileHeld, cancellationToken);
        }

        queued.WatchCancellation();
        return queued.Task;
    }

    private async Task<object?> RunFirstAsync(Func<object?> call, Action? whileHeld, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync(call, whileHeld, cancellationToken);
        }
        finally
        {
            ReleaseIsolate();
        }
    }

    // The running call has ended: the isolate is idle, or the drain loop takes the queued calls.
    private void ReleaseIsolate()
    {
        lock (_queueLock)
        {
            if (_queue.Count == 0)
            {
                _busy = false;
                return;
            }
        }

        ThreadPool.UnsafeQueueUserWorkItem(static instance => _ = instance.DrainAsync(), this, preferLocal: false);
    }

    private async Task DrainAsync()
    {
        var inARow = 0;
        while (true)
        {
            QueuedCall? next;
            lock (_queueLock)
            {
                if (!_queue.TryDequeue(out next))
                {
                    _busy = false;
                    return;
                }
            }

            if (!next.TryStart())
            {
                continue; // Cancelled while it waited.
            }

            // The call runs in its caller's execution context (log scopes and the like), as it did
            // when the caller ran it.
            if (next.Context is { } context)
            {
                ExecutionContext.Restore(context);
            }

            try
            {
                next.Result = next.Call is null ? DisposeNow() : await CallAsync(next.Call, next.WhileHeld, next.CancellationToken);
            }
            catch (Exception e)
            {
                next.Error = e;
            }

            // The caller goes on from the thread pool's global queue, where any worker takes it, rather
            // than from this thread's local queue, which waits while this loop runs.
            ThreadPool.UnsafeQueueUserWorkItem(static call => call.Complete(), next, preferLocal: false);

            // Let other work on this thread-pool thread run now and then.
            if (++inARow % 64 == 0)
            {
                await Task.Yield();
            }
        }
    }

    private async Task<object?> CallAsync(Func<object?> call, Action? whileHeld, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var outcome = "error";
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var result = Invoke(call);
            if (result is Task promise && !promise.IsCompleted)
            {
                // A Promise that is still pending when the call returns: the rest of the wall-time
                // budget is all it gets. Nothing in the API settles a Promise later, so one that is
                // pending now may never settle.
                var remaining = _callTimeout - _time.GetElapsedTime(started);
                try
                {
                    await promise.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time, cancellationToken);
                }
                catch (TimeoutException)
                {
                    throw new ScriptTimeoutException(Uri, _callTimeout);
                }
            }

            if (result is Task settled)
            {
                try
                {
                    await settled;
                    result = settled is Task<object> valued ? valued.Result : null;
                }
                catch (Exception e) when (e is ScriptEngineException or ScriptInterruptedException)
                {
                    throw Translate(e);
                }
            }

            whileHeld?.Invoke();
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
        }
    }

    private object? DisposeNow()
    {
        Dispose();
        return null;
    }

    /// <summary>A call waiting for the isolate (<see cref="Call"/> <see langword="null"/>: dispose it).</summary>
    private sealed class QueuedCall(Func<object?>? call, Action? whileHeld, ExecutionContext? context, CancellationToken cancellationToken)
        : TaskCompletionSource<object?>
    {
        private const int Waiting = 0, Started = 1, Cancelled = 2;
        private int _state;
        private CancellationTokenRegistration _registration;

        public Func<object?>? Call => call;

        public Action? WhileHeld => whileHeld;

        public CancellationToken CancellationToken => cancellationToken;

        public ExecutionContext? Context => context;

        /// <summary>A cancelled caller leaves the queue at once; a call that has started is not cancelled here.</summary>
        public void WatchCancellation()
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((QueuedCall)state!).Cancel(token), this);
            }
        }

        private void Cancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Waiting) == Waiting)
            {
                TrySetCanceled(token);
            }
        }

        public object? Result { get; set; }

        public Exception? Error { get; set; }

        /// <summary>Hands the outcome to the caller.</summary>
        public void Complete()
        {
            switch (Error)
            {
                case null:
                    TrySetResult(Result);
                    break;
                case OperationCanceledException cancelled:
                    TrySetCanceled(cancelled.CancellationToken);
                    break;
                default:
                    TrySetException(Error);
                    break;
            }
        }

        /// <summary>Whether the call is to run (it was not cancelled while it waited).</summary>
        public bool TryStart()
        {
            if (Interlocked.CompareExchange(ref _state, Started, Waiting) != Waiting)
            {
                return false;
            }

            _registration.Unregister();
            return true;
        }
    }

    private object? Invoke(Func<object?> call)
    {
        lock (_callLock)
        {
            _callStarted = _time.GetTimestamp();
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

    private ScriptFailedException Translate(Exception e)
    {
        bool timedOut;
        lock (_callLock)
        {
            timedOut = _interruptedByWatchdog;
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
        return new ScriptFailedException(Uri, CleanMessage(e.Message), FindLine(details), e);
    }

    // The heap monitor blocks the isolate and reports a fatal error; nothing else does.
    private static bool IsHeapViolation(Exception e) => e is ScriptEngineException { IsFatal: true };

    private static string CleanMessage(string message)
    {
        // V8 messages read "Error: text"; keep the text and the error type when it is not plain Error.
        return message.StartsWith("Error: ", StringComparison.Ordinal) ? message["Error: ".Length..] : message;
    }

    private int? FindLine(string details)
    {
        foreach (Match match in LocationPattern().Matches(details))
        {
            if (match.Groups["uri"].Value.AsSpan().TrimStart('/').SequenceEqual(Uri) && int.TryParse(match.Groups["line"].ValueSpan, out var line))
            {
                return line;
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

    /// <summary>Waits for the running and queued calls to finish, then releases the isolate.</summary>
    public Task DisposeWhenIdleAsync()
    {
        lock (_queueLock)
        {
            if (_busy)
            {
                var queued = new QueuedCall(null, null, null, CancellationToken.None);
                _queue.Enqueue(queued);
                return queued.Task;
            }

            _busy = true;
        }

        try
        {
            Dispose();
        }
        finally
        {
            ReleaseIsolate();
        }

        return Task.CompletedTask;
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
        // Dispose alone does not stop a script that is running on another thread.
        _engine.Interrupt();
        _engine.Dispose();
    }
}
