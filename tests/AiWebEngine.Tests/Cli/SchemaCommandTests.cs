using AiWebEngine.Cli;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Cli;

public sealed class SchemaCommandTests
{
    [Fact]
    public async Task Schema_OfTheSamples_PrintsExactlySchemaSamplesGraphql()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await EngineCommandLine.InvokeAsync(["schema", "--scripts", Path.Combine(EngineHost.RepositoryRoot, "samples")], output, error);

        Assert.True(exit == 0, error.ToString());
        var expected = (await File.ReadAllTextAsync(Path.Combine(EngineHost.RepositoryRoot, "schema", "samples.graphql"))).ReplaceLineEndings("\n");
        Assert.True(expected == output.ToString(), $"`schema --scripts samples` differs from schema/samples.graphql:\n{output}");
    }

    [Fact]
    public async Task Schema_ReportsAScriptThatFailsToLoad_WithItsLine_AndExits1()
    {
        var directory = Directory.CreateTempSubdirectory("aiwebengine-schema-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "ok.js"), """registerGraphQLQuery("hello", "type Query { hello: String }", () => "hi");""");
            await File.WriteAllTextAsync(Path.Combine(directory, "bad.js"), "let a = 1;\nthrow new Error('boom');\n");
            using var output = new StringWriter();
            using var error = new StringWriter();

            var exit = await EngineCommandLine.InvokeAsync(["schema", "--scripts", directory], output, error);

            Assert.Equal(1, exit);
            Assert.Equal("type Query {\n  hello: String\n}\n", output.ToString());
            Assert.True(error.ToString().StartsWith("bad.js:2: boom", StringComparison.Ordinal), error.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
