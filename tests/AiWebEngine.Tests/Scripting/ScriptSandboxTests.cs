using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Scripting;

/// <summary>A script reaches nothing but the API: no files, network, .NET types or host object.</summary>
public sealed class ScriptSandboxTests
{
    [Fact]
    public async Task Script_SeesOnlyTheApi()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["probe.js"] = """
                function kind(f) { try { return typeof f(); } catch (e) { return "error"; } }
                const seen = {
                  require: typeof require, process: typeof process, fetch: typeof fetch,
                  XMLHttpRequest: typeof XMLHttpRequest, host: typeof host, Deno: typeof Deno,
                  importScripts: typeof importScripts, host_type: typeof HostFunctions,
                  clr: typeof clr, mscorlib: typeof mscorlib, lib: typeof lib, xHost: typeof xHost,
                  chakra: typeof chakra,
                  // ClearScript's own helpers (promise plumbing): plain JavaScript functions, no host objects.
                  engineInternal: Object.getOwnPropertyNames(EngineInternal).every(n => ["function", "object"].includes(typeof EngineInternal[n]) && !EngineInternal.isHostObject(EngineInternal[n])),
                  globals: Object.getOwnPropertyNames(globalThis).filter(n => !/^[A-Z]/.test(n)).sort().join(","),
                };
                let dynamicImport = "pending";
                import("fs").then(() => { dynamicImport = "loaded"; }, (e) => { dynamicImport = "rejected"; });
                register("/probe", () => ({ body: Object.assign({ dynamicImport }, seen) }));
                """,
        });

        var seen = await HttpAssert.JsonAsync(await host.Client.GetAsync("/probe"));

        foreach (var name in new[] { "require", "process", "fetch", "XMLHttpRequest", "host", "Deno", "importScripts", "clr", "mscorlib", "lib", "xHost", "chakra" })
        {
            Assert.True("undefined" == seen.GetProperty(name).GetString(), $"{name} is {seen.GetProperty(name)}");
        }

        Assert.True(seen.GetProperty("engineInternal").GetBoolean());
        Assert.Equal("rejected", seen.GetProperty("dynamicImport").GetString());
        var globals = seen.GetProperty("globals").GetString()!.Split(',');
        Assert.Contains("register", globals);
        Assert.Contains("writeLog", globals);
        Assert.Contains("console", globals);
        Assert.DoesNotContain(globals, g => g.Contains("host", StringComparison.OrdinalIgnoreCase));
    }
}
