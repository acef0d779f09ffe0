namespace AiWebEngine.Management;

/// <summary>What <c>GET /health</c> shows of the script replication of a cluster instance.</summary>
/// <param name="Following">Whether the follower's last attempt worked (false while it retries after a failure).</param>
/// <param name="CaughtUp">Whether the instance has applied the changes made while it was away.</param>
/// <param name="EntriesSkipped">Changes read from Redis that were not applied: malformed, hostile, or failing with an unexpected error.</param>
/// <param name="LastError">What went wrong last (a skipped change or a failed attempt), or <see langword="null"/>.</param>
/// <param name="LastErrorAt">When.</param>
internal sealed record ReplicationHealth(bool Following, bool CaughtUp, long EntriesSkipped, string? LastError, DateTimeOffset? LastErrorAt);
