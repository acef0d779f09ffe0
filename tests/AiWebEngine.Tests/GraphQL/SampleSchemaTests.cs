using AiWebEngine.GraphQL;
using AiWebEngine.Tests.Infrastructure;
using GraphQL;
using GraphQL.Utilities;
using Microsoft.Extensions.DependencyInjection;

namespace AiWebEngine.Tests.GraphQL;

/// <summary>
/// <c>schema/samples.graphql</c> is the SDL the samples produce, compared as a snapshot: when a sample
/// changes its GraphQL fields, this test fails until the file is updated. Run the tests once with
/// <c>AIWEBENGINE_UPDATE_SCHEMA=1</c> to rewrite it, then review and commit the change.
/// </summary>
/// <remarks>
/// Snapshooter keeps its snapshots in a <c>__snapshots__</c> folder and cannot be pointed at
/// <c>schema/samples.graphql</c>, so the comparison is made here, the same way.
/// </remarks>
public sealed class SampleSchemaTests
{
    [Fact]
    public async Task SchemaOfTheSamples_MatchesSchemaSamplesGraphql()
    {
        await using var host = await EngineHost.StartWithSamplesAsync();
        var sdl = host.Services.GetRequiredService<IGraphQLSchemaProvider>().Current.Print(new PrintOptions { IncludeDescriptions = true }).Trim() + "\n";
        var file = Path.Combine(EngineHost.RepositoryRoot, "schema", "samples.graphql");

        if (Environment.GetEnvironmentVariable("AIWEBENGINE_UPDATE_SCHEMA") == "1")
        {
            await File.WriteAllTextAsync(file, sdl);
        }

        Assert.True(File.Exists(file), $"{file} is missing; run the tests once with AIWEBENGINE_UPDATE_SCHEMA=1 to write it.");
        var expected = (await File.ReadAllTextAsync(file)).ReplaceLineEndings("\n");
        Assert.True(expected == sdl, $"The samples' schema changed; schema/samples.graphql is out of date. Run the tests with AIWEBENGINE_UPDATE_SCHEMA=1 and commit the file.\n--- schema/samples.graphql\n{expected}\n--- samples now\n{sdl}");
    }
}
