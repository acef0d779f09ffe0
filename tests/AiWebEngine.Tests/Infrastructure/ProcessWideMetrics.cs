namespace AiWebEngine.Tests.Infrastructure;

/// <summary>
/// Tests that read <c>/metrics</c> run alone: the OpenTelemetry listener of one host also hears the
/// meters of every other host in the test process (they share the meter's name), so a stream that
/// another test closes while a scrape runs could move the numbers under assertion.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideMetrics
{
    public const string Name = "process-wide metrics";
}
