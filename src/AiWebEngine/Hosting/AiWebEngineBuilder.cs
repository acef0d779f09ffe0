namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Returned by <c>AddAiWebEngine()</c>, for further configuration of the engine's services.</summary>
public interface IAiWebEngineBuilder
{
    IServiceCollection Services { get; }
}

internal sealed class AiWebEngineBuilder(IServiceCollection services) : IAiWebEngineBuilder
{
    public IServiceCollection Services { get; } = services;
}

/// <summary>Marks that <c>AddAiWebEngine()</c> ran, so that <c>MapAiWebEngine()</c> can say so when it did not.</summary>
internal sealed class AiWebEngineMarker;
