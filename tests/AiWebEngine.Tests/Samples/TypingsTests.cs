using System.Diagnostics;
using System.Text.RegularExpressions;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Samples;

/// <summary>
/// Issue 19, point 8: <c>types/aiwebengine.d.ts</c> declares the whole script API, every sample type-checks
/// against it (<c>tsc -p samples/jsconfig.json</c>, npm typescript), a script that misuses the API does not,
/// and the engine serves the file.
/// </summary>
public sealed partial class TypingsTests
{
    private static readonly string Declarations = Path.Combine(EngineHost.RepositoryRoot, "types", "aiwebengine.d.ts");

    private static async Task<(int Exit, string Output)> TscAsync(string project)
    {
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(NodeClient.ScriptsDirectory, "node_modules", "typescript", "bin", "tsc"));
        start.ArgumentList.Add("-p");
        start.ArgumentList.Add(project);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output + await errors);
    }

    [Fact]
    public async Task EverySample_TypeChecks_AgainstTheDeclarations()
    {
        var (exit, output) = await TscAsync(Path.Combine(EngineHost.RepositoryRoot, "samples", "jsconfig.json"));
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task AScriptThatMisusesTheApi_DoesNotTypeCheck()
    {
        var directory = Directory.CreateTempSubdirectory("aiwebengine-types-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "bad.js"), """
                register(42, () => ({ body: "x" }));
                sendStreamMessage(5);
                schedule("job", "1s");
                crypto.createHash("sha256").update(1);
                registerWebStream("/s", { authorize: 7 });
                """);
            await File.WriteAllTextAsync(Path.Combine(directory.FullName, "jsconfig.json"), $$"""
                { "compilerOptions": { "allowJs": true, "checkJs": true, "noEmit": true, "target": "es2022", "lib": ["es2022"], "moduleDetection": "force", "types": [] },
                  "include": ["*.js", "{{Declarations.Replace("\\", "/", StringComparison.Ordinal)}}"] }
                """);
            var (exit, output) = await TscAsync(Path.Combine(directory.FullName, "jsconfig.json"));
            Assert.NotEqual(0, exit);
            foreach (var line in new[] { "bad.js(1,", "bad.js(2,", "bad.js(3,", "bad.js(4,", "bad.js(5," })
            {
                Assert.Contains(line, output, StringComparison.Ordinal);
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Every global the sandbox test lists as the API is declared (so a new API function cannot be left out).</summary>
    [Fact]
    public void EveryApiGlobal_IsDeclared()
    {
        var text = File.ReadAllText(Declarations);
        string[] api =
        [
            "console", "register", "writeLog", "registerWebStream", "sendStreamMessage", "sendStreamMessageToPath", "sendToUser", "registerGraphQLQuery",
            "registerGraphQLMutation", "registerGraphQLSubscription", "sendSubscriptionMessage", "sendSubscriptionToUser",
            "crypto", "generateId", "secrets", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "schedule", "fetch", "storage",
        ];
        var declared = Declared().Matches(text).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.DoesNotContain(api, name => !declared.Contains(name));
        Assert.Equal(api.Order(), Scripting.ScriptSandboxTests.ApiGlobals.Order());
    }

    [Fact]
    public async Task TheEngine_ServesTheDeclarations()
    {
        await using var host = await EngineHost.StartAsync();
        using var response = await host.Client.GetAsync("/engine/types/aiwebengine.d.ts");
        Assert.Equal("application/typescript", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllTextAsync(Declarations), await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex(@"^declare (?:function|var) (\w+)", RegexOptions.Multiline)]
    private static partial Regex Declared();
}
