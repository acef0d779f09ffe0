using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AiWebEngine.Diagnostics.Metrics;

/// <summary>
/// The engine's instruments, on the meter <c>AiWebEngine</c> (SPEC §7); exported by OpenTelemetry and
/// scraped at <c>/metrics</c>.
/// </summary>
/// <remarks>
/// Instruments carry no per-path or per-topic tags: stream paths are created by scripts at run time
/// (one per chat room), so they would make the cardinality unbounded. Script calls are tagged with the
/// script's URI, which is bounded by the files in the scripts directory.
/// </remarks>
internal sealed class EngineMetrics
{
    public const string MeterName = "AiWebEngine";

    // Seconds, from a fast handler (well under a millisecond) to the default call timeout (5 s).
    private static readonly double[] CallDurationBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _published;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _scriptCalls;
    private readonly Histogram<double> _scriptCallDuration;
    private readonly Counter<long> _graphQLOperations;
    private readonly Counter<long> _jobRuns;
    private readonly Histogram<double> _jobRunDuration;

    public EngineMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connections = meter.CreateUpDownCounter<long>("aiwebengine.stream.connections", "{connection}", "Open long-lived connections: streams, GraphQL event streams and GraphQL WebSockets.");
        _published = meter.CreateCounter<long>("aiwebengine.stream.messages.published", "{message}", "Messages published on the topic bus (streams and GraphQL subscriptions).");
        _delivered = meter.CreateCounter<long>("aiwebengine.stream.frames.delivered", "{frame}", "SSE frames written to clients (streams and graphql-sse).");
        _dropped = meter.CreateCounter<long>("aiwebengine.stream.frames.dropped", "{frame}", "Messages not queued because a subscriber's queue was full; that subscriber is disconnected.");
        _scriptCalls = meter.CreateCounter<long>("aiwebengine.script.calls", "{call}", "Calls into scripts: top level, init, handlers, resolvers.");
        _scriptCallDuration = meter.CreateHistogram<double>("aiwebengine.script.call.duration", "s", "Wall time of one call into a script, including its Promise.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CallDurationBuckets });
        _jobRuns = meter.CreateCounter<long>("aiwebengine.schedule.runs", "{run}", "Runs of scripts' named jobs on this instance, by script, job and outcome (ok, error, timeout).");
        _jobRunDuration = meter.CreateHistogram<double>("aiwebengine.schedule.run.duration", "s", "Wall time of one run of a named job, including its Promise.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = CallDurationBuckets });
        _graphQLOperations = meter.CreateCounter<long>("aiwebengine.graphql.operations", "{operation}", "GraphQL operations run, by type and whether they executed.");
    }

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionClosed() => _connections.Add(-1);

    public void MessagePublished() => _published.Add(1);

    public void FramesDelivered(int count)
    {
        if (count > 0)
        {
            _delivered.Add(count);
        }
    }

    public void FramesDropped(int count)
    {
        if (count > 0)
        {
            _dropped.Add(count);
        }
    }

    /// <summary>
    /// Records one call into <paramref name="uri"/>; <paramref name="outcome"/> is <c>ok</c>, <c>error</c>,
    /// <c>timeout</c> (run or waited too long) or <c>busy</c> (refused: too many calls waiting).
    /// The duration includes the wait for the script's earlier calls.
    /// </summary>
    public void ScriptCalled(string uri, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "aiwebengine.script.uri", uri }, { "aiwebengine.script.outcome", outcome } };
        _scriptCalls.Add(1, tags);
        _scriptCallDuration.Record(duration.TotalSeconds, tags);
    }

    public void JobRan(string uri, string name, string outcome, TimeSpan duration)
    {
        var tags = new TagList { { "aiwebengine.script.uri", uri }, { "aiwebengine.schedule.name", name }, { "aiwebengine.schedule.outcome", outcome } };
        _jobRuns.Add(1, tags);
        _jobRunDuration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>Records one GraphQL operation; <paramref name="type"/> is <c>query</c>, <c>mutation</c>, <c>subscription</c> or <c>unknown</c> (a document that did not parse).</summary>
    public void GraphQLOperation(string type, bool executed) =>
        _graphQLOperations.Add(1, new TagList { { "graphql.operation.type", type }, { "aiwebengine.graphql.executed", executed ? s_true : s_false } });

    // Boxed once, not on every operation.
    private static readonly object s_true = true;
    private static readonly object s_false = false;
}
