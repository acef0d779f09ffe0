namespace AiWebEngine.Streaming;

/// <summary>
/// Decides which instance runs one tick of a named job: once per tick across the cluster. A single
/// instance always wins; in a cluster the first instance to take the tick's key in Redis does.
/// </summary>
public interface ITickLease
{
    /// <summary>Whether this instance runs tick <paramref name="tick"/> of job <paramref name="job"/>; false when another instance took it, or the cluster could not be asked.</summary>
    Task<bool> TryTakeAsync(string job, DateTimeOffset tick, CancellationToken cancellationToken);
}

/// <summary>The lease of an instance on its own: every tick is its.</summary>
internal sealed class LocalTickLease : ITickLease
{
    public Task<bool> TryTakeAsync(string job, DateTimeOffset tick, CancellationToken cancellationToken) => Task.FromResult(true);
}
