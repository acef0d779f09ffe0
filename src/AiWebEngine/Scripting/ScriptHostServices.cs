using AiWebEngine.Streaming;

namespace AiWebEngine.Scripting;

/// <summary>The engine services every script instance uses.</summary>
internal sealed record ScriptHostServices(
    ScriptOptions Options,
    IScriptRegistrar Registrar,
    ScriptLogger Logger,
    ScriptWatchdog Watchdog,
    StreamPublisher Streams,
    AiWebEngine.GraphQL.SubscriptionPublisher Subscriptions,
    TimeProvider Time,
    ScheduleBoard Schedules,
    ITickLease Lease,
    Fetch.ScriptFetcher Fetcher,
    Storage.ScriptStorage Storage,
    AiWebEngine.Diagnostics.Metrics.EngineMetrics? Metrics = null);
