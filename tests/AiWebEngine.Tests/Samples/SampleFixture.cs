using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>One engine on a real socket, serving a copy of <c>samples/</c>, shared by the sample tests.</summary>
public sealed class SampleFixture : IAsyncLifetime
{
    public EngineHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await EngineHost.StartWithSamplesAsync(kestrel: true);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
