namespace AiWebEngine.Streaming;

/// <summary>
/// Runs a fan-out off the producer's thread, one batch at a time: items posted while a batch is being
/// delivered are delivered together in the next one, in the order they were posted.
/// </summary>
/// <remarks>
/// A producer (a publish, a subscription's event) only appends and returns. One work item on the
/// thread pool at a time takes everything posted so far and hands it to <c>deliver</c>, so a burst costs
/// one pass over the subscribers, not one per item, and the subscribers see the items in order.
/// A pass that throws is reported to <c>failed</c> (the owner's logger), or traced without one.
/// </remarks>
internal sealed class FanOutQueue<T>(Action<List<T>> deliver, Action<Exception>? failed = null) : IThreadPoolWorkItem
{
    private readonly Lock _sync = new();
    private List<T> _posted = [];
    private List<T> _spare = [];
    private bool _running;

    public void Post(T item)
    {
        lock (_sync)
        {
            _posted.Add(item);
            if (_running)
            {
                return;
            }

            _running = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        while (true)
        {
            List<T> batch;
            lock (_sync)
            {
                if (_posted.Count == 0)
                {
                    _running = false;
                    return;
                }

                batch = _posted;
                _posted = _spare;
            }

            try
            {
                deliver(batch);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A delivery that throws is a bug; it must not take the process down (this runs on the
                // thread pool) nor stop the deliveries after it. The others of the pass were made.
                if (failed is not null)
                {
                    failed(e);
                }
                else
                {
                    System.Diagnostics.Trace.TraceError($"A fan-out pass failed: {e}");
                }
            }
            finally
            {
                batch.Clear();
                lock (_sync)
                {
                    _spare = batch;
                }
            }
        }
    }
}

/// <summary>
/// Runs a fan-out pass over many targets on two threads: the second half on the thread pool while the
/// calling thread does the first, then waits for it, so the next pass starts only after this one.
/// </summary>
/// <remarks>
/// The caller never waits for a half that has not started: if the thread pool has not picked it up by
/// the time the first half is done (a busy pool), the caller runs it itself.
/// </remarks>
internal static class FanOutPass
{
    /// <summary>Below this many targets one thread does the pass (a second costs more than it saves).</summary>
    public const int SplitAt = 512;

    /// <summary>Calls <paramref name="deliver"/> for every target, even when some fail.</summary>
    /// <returns>How many deliveries returned true (went straight to the socket).</returns>
    /// <exception cref="AggregateException">Some deliveries failed (the first failure of each thread).</exception>
    public static int Run<TTarget, TState>(TTarget[] targets, TState state, Func<TTarget, TState, bool> deliver)
    {
        if (targets.Length < SplitAt || Environment.ProcessorCount < 2)
        {
            var (count, failure) = RunRange(targets, 0, targets.Length, state, deliver);
            return failure is null ? count : throw new AggregateException(failure);
        }

        var half = targets.Length / 2;
        using var second = new Half<TTarget, TState>(targets, half, state, deliver);
        ThreadPool.UnsafeQueueUserWorkItem(second, preferLocal: false);
        var first = RunRange(targets, 0, half, state, deliver);
        var other = second.Wait();
        if (first.Failure is not null || other.Failure is not null)
        {
            throw new AggregateException(new[] { first.Failure, other.Failure }.OfType<Exception>());
        }

        return first.Count + other.Count;
    }

    private static (int Count, Exception? Failure) RunRange<TTarget, TState>(TTarget[] targets, int start, int end, TState state, Func<TTarget, TState, bool> deliver)
    {
        var count = 0;
        Exception? failure = null;
        for (var i = start; i < end; i++)
        {
            try
            {
                if (deliver(targets[i], state))
                {
                    count++;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failure ??= e;
            }
        }

        return (count, failure);
    }

    private sealed class Half<TTarget, TState>(TTarget[] targets, int start, TState state, Func<TTarget, TState, bool> deliver) : IThreadPoolWorkItem, IDisposable
    {
        private readonly ManualResetEventSlim _done = new();
        private (int Count, Exception? Failure) _result;
        private int _claimed;

        public void Execute()
        {
            if (Interlocked.Exchange(ref _claimed, 1) == 0)
            {
                _result = RunRange(targets, start, targets.Length, state, deliver);
                _done.Set();
            }
        }

        /// <summary>Runs the half here if no thread has started it, else waits for it; what it delivered and its first failure.</summary>
        public (int Count, Exception? Failure) Wait()
        {
            if (Interlocked.Exchange(ref _claimed, 1) == 0)
            {
                return RunRange(targets, start, targets.Length, state, deliver);
            }

            _done.Wait();
            return _result;
        }

        public void Dispose() => _done.Dispose();
    }
}
