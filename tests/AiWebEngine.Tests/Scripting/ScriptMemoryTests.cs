using System.Diagnostics;
using System.Net;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Scripting;

/// <summary>
/// Issue 16, point 4(b): memory V8 allocates outside the heap and outside the array-buffer
/// allocator's count (WebAssembly memories, resizable and growable buffers) is not available to
/// scripts. Measured on the process's resident set, so these run alone.
/// </summary>
[Collection(AiWebEngine.Tests.Hardening.FaultMemoryTests.Name)]
public sealed class ScriptMemoryTests
{
    private const long OneGiB = 1024L * 1024 * 1024;

    private static long ResidentBytes()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    [Theory]
    [InlineData("wasm", "const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 }); for (let i = 0; i < 4; i++) m.grow(4096); new Uint8Array(m.buffer).fill(1); return m.buffer.byteLength;", "WebAssembly is not defined")]
    [InlineData("resizable", "const b = new ArrayBuffer(0, { maxByteLength: 2 ** 32 }); b.resize(2 ** 30); new Uint8Array(b).fill(1); return b.byteLength;", "resizable ArrayBuffers (maxByteLength) are not available")]
    [InlineData("resizable-initial", "const b = new ArrayBuffer(2 ** 30, { maxByteLength: 2 ** 30 }); new Uint8Array(b).fill(1); return b.byteLength;", "resizable ArrayBuffers (maxByteLength) are not available")]
    [InlineData("growable-shared", "const b = new SharedArrayBuffer(0, { maxByteLength: 2 ** 32 }); b.grow(2 ** 30); new Uint8Array(b).fill(1); return b.byteLength;", "SharedArrayBuffer is not defined")]
    [InlineData("fixed", "const b = new ArrayBuffer(2 ** 30); new Uint8Array(b).fill(1); return b.byteLength;", "Array buffer allocation failed")]
    public async Task OneGiBOutsideTheHeap_IsRefused_AndTheProcessDoesNotGrow(string name, string grab, string message)
    {
        await using var host = await EngineHost.StartAsync(Canary.With(new Dictionary<string, string>
        {
            ["grab.js"] = $$"""
                register("/grab", () => { const size = (() => { {{grab}} })(); return { body: String(size) }; });
                register("/alive", () => ({ body: "alive" }));
                """,
        }));
        await using var canary = await Canary.ConnectAsync(host);
        var before = ResidentBytes();

        var error = await HttpAssert.ErrorAsync(await host.Client.GetAsync("/grab"), HttpStatusCode.InternalServerError, "SCRIPT_EXECUTION_FAILED");
        var grown = ResidentBytes() - before;

        Assert.Contains(message, error.GetProperty("details").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(grown < OneGiB / 2, $"{name}: the process grew by {grown / 1024 / 1024} MiB");
        Assert.Equal("alive", await HttpAssert.TextAsync(await host.Client.GetAsync("/alive")));
        await canary.AssertHealthyAsync();
    }
}
