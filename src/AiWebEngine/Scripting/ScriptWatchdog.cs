using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Scripting;

/// <summary>
/// Enforces <see cref="ScriptOptions.CallTimeout"/>: one timer for the whole process looks at every
/// isolate and interrupts a call that has run too long.
/// </summary>
/// <remarks>
/// One shared timer instead of one per call keeps the per-call cost at two timestamp writes. The
/// timer ticks at a fifth of the limit (between 5 and 100 ms), so a call is interrupted at most one
/// tick after its limit.
/// </remarks>
internal sealed class ScriptWatchdog : IDisposable
{
    private readonly ConcurrentDictionary<ScriptInstance, byte> _tracked = new();
    private readonly TimeProvider _time;
    private readonly ITimer _timer;

    public ScriptWatchdog(IOptions<ScriptOptions> options, TimeProvider time)
    {
        _time = time;
        var period = TimeSpan.FromTicks(Math.Clamp(options.Value.CallTimeout.Ticks / 5, TimeSpan.FromMilliseconds(5).Ticks, TimeSpan.FromMilliseconds(100).Ticks));
        _timer = time.CreateTimer(static state => ((ScriptWatchdog)state!).Tick(), this, period, period);
    }

    public void Track(ScriptInstance instance) => _tracked.TryAdd(instance, 0);

    public void Untrack(ScriptInstance instance) => _tracked.TryRemove(instance, out _);

    private void Tick()
    {
        var now = _time.GetTimestamp();
        foreach (var instance in _tracked.Keys)
        {
            instance.InterruptIfOverdue(now);
        }
    }

    public void Dispose() => _timer.Dispose();
}
