using System.Collections.Concurrent;

namespace AiWebEngine.Scripting;

/// <summary>
/// What this instance knows of every named job (<c>schedule</c>): its spec, next tick, last run here, its
/// duration and outcome, and how many runs and failures it had; shown by <c>GET /engine/schedules</c>.
/// </summary>
/// <remarks>
/// A job belongs to the version of its script that serves: a version that starts serving replaces its
/// script's jobs here, and one that is retired removes only the jobs it still owns. In a cluster each
/// instance counts the ticks it ran; the ticks another instance took are counted as <c>ranElsewhere</c>.
/// </remarks>
internal sealed class ScheduleBoard
{
    private readonly ConcurrentDictionary<(string Script, string Name), JobStatus> _jobs = new();

    public sealed class JobStatus(string script, string name, string spec, long version)
    {
        private readonly Lock _lock = new();

        public string Script { get; } = script;

        public string Name { get; } = name;

        public string Spec { get; } = spec;

        public long Version { get; } = version;

        public DateTimeOffset? NextRun { get; private set; }

        public DateTimeOffset? LastRun { get; private set; }

        public TimeSpan? LastDuration { get; private set; }

        public string? LastOutcome { get; private set; }

        public string? LastError { get; private set; }

        public long Runs { get; private set; }

        public long Failures { get; private set; }

        public long RanElsewhere { get; private set; }

        public void Next(DateTimeOffset? next)
        {
            lock (_lock)
            {
                NextRun = next;
            }
        }

        public void Ran(DateTimeOffset started, TimeSpan duration, string outcome, string? error)
        {
            lock (_lock)
            {
                LastRun = started;
                LastDuration = duration;
                LastOutcome = outcome;
                LastError = error;
                Runs++;
                if (outcome != "ok")
                {
                    Failures++;
                }
            }
        }

        public void Elsewhere()
        {
            lock (_lock)
            {
                RanElsewhere++;
            }
        }
    }

    /// <summary>The version <paramref name="version"/> of <paramref name="script"/> serves with these jobs: they replace the script's others.</summary>
    public void Activate(string script, long version, IEnumerable<JobStatus> jobs)
    {
        foreach (var key in _jobs.Keys.Where(k => k.Script == script))
        {
            _jobs.TryRemove(key, out _);
        }

        foreach (var job in jobs)
        {
            _jobs[(script, job.Name)] = job;
        }
    }

    /// <summary>Adds a job the serving version scheduled later (from a handler).</summary>
    public void Add(JobStatus job) => _jobs[(job.Script, job.Name)] = job;

    /// <summary>Version <paramref name="version"/> of <paramref name="script"/> is retired: its jobs (not a newer version's) go.</summary>
    public void Retire(string script, long version)
    {
        foreach (var (key, job) in _jobs)
        {
            if (key.Script == script && job.Version == version)
            {
                _jobs.TryRemove(new KeyValuePair<(string, string), JobStatus>(key, job));
            }
        }
    }

    public IReadOnlyList<JobStatus> List() => [.. _jobs.Values.OrderBy(j => j.Script, StringComparer.Ordinal).ThenBy(j => j.Name, StringComparer.Ordinal)];
}
