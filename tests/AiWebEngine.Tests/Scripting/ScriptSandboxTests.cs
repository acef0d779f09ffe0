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

        // fetch is the API's own (ScriptFetchTests: off until hosts are listed); no other network door is there.
        foreach (var name in new[] { "require", "process", "XMLHttpRequest", "host", "Deno", "importScripts", "clr", "mscorlib", "lib", "xHost", "chakra" })
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

    /// <summary>The script API's globals (also what types/aiwebengine.d.ts must declare: TypingsTests).</summary>
    internal static readonly string[] ApiGlobals =
    [
        "console", "register", "writeLog", "registerWebStream", "sendStreamMessage", "sendStreamMessageToPath", "sendToUser", "registerGraphQLQuery",
        "registerGraphQLMutation", "registerGraphQLSubscription", "sendSubscriptionMessage", "sendSubscriptionToUser",
        "crypto", "generateId", "secrets", "setTimeout", "setInterval", "clearTimeout", "clearInterval", "schedule", "fetch", "storage",
    ];

    // ECMAScript's globals as V8 ships them, ClearScript's EngineInternal (its promise and iterator
    // plumbing, frozen) and the script API. Anything else (a timer, a host object, a V8 extra such
    // as WebAssembly or gc) fails the probe: add it here only after deciding it is safe.
    private static readonly string[] AllowedGlobals =
    [
        "AggregateError", "Array", "ArrayBuffer", "AsyncDisposableStack", "Atomics", "BigInt", "BigInt64Array", "BigUint64Array",
        "Boolean", "DataView", "Date", "DisposableStack", "Error", "EvalError", "FinalizationRegistry", "Float16Array", "Float32Array",
        "Float64Array", "Function", "Infinity", "Int16Array", "Int32Array", "Int8Array", "Intl", "Iterator", "JSON", "Map", "Math", "NaN",
        "Number", "Object", "Promise", "Proxy", "RangeError", "ReferenceError", "Reflect", "RegExp", "Set", "String", "SuppressedError",
        "Symbol", "SyntaxError", "TypeError", "URIError", "Uint16Array", "Uint32Array", "Uint8Array", "Uint8ClampedArray", "WeakMap",
        "WeakRef", "WeakSet", "decodeURI", "decodeURIComponent", "encodeURI", "encodeURIComponent", "escape", "eval", "globalThis",
        "isFinite", "isNaN", "parseFloat", "parseInt", "undefined", "unescape",
        "EngineInternal",
        .. ApiGlobals,
    ];


    private static readonly string[] EngineInternalMembers =
    [
        "asyncGenerator", "checkpoint", "commandHolder", "completePromise", "completePromiseWithResult", "createArray", "createPromise",
        "createSettledPromise", "createSettledPromiseWithResult", "dispose", "disposeAsync", "getAsyncIterator", "getCommandResult",
        "getIterator", "getModuleResult", "getPromiseResult", "getPromiseState", "getStackTrace", "initializeTask", "invokeConstructor",
        "invokeMethod", "isHostObject", "isPromise", "parseJson", "strictEquals", "throwValue", "toAsyncIterator", "toIterator", "toJson",
    ];

    [Fact]
    public async Task Globals_AreOnlyECMAScriptEngineInternalAndTheApi_AndNoneReachesAHostObject()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["probe.js"] = """
                const isHost = EngineInternal.isHostObject;
                const hosts = [];
                // Every global, its own properties and its prototype's: values only, no getter is called.
                const scan = function (path, value, depth) {
                  if (isHost(value)) { hosts.push(path); return; }
                  if (depth === 0 || value === null || (typeof value !== "object" && typeof value !== "function")) return;
                  for (const key of Reflect.ownKeys(value)) {
                    const d = Object.getOwnPropertyDescriptor(value, key);
                    for (const part of ["value", "get", "set"]) if (d[part] !== undefined) scan(path + "." + String(key) + (part === "value" ? "" : "<" + part + ">"), d[part], depth - 1);
                  }
                };
                for (const name of Reflect.ownKeys(globalThis)) scan(String(name), Object.getOwnPropertyDescriptor(globalThis, name).value, 3);
                const internal = Object.getOwnPropertyNames(EngineInternal).sort();
                register("/probe", () => ({ body: {
                  globals: Reflect.ownKeys(globalThis).map(String),
                  hosts,
                  internal,
                  internalKinds: internal.filter(n => !["function", "object"].includes(typeof EngineInternal[n])),
                  internalFrozen: Object.isFrozen(EngineInternal),
                } }));
                """,
        });

        var seen = await HttpAssert.JsonAsync(await host.Client.GetAsync("/probe"));

        var unexpected = seen.GetProperty("globals").EnumerateArray().Select(g => g.GetString()!).Except(AllowedGlobals).ToList();
        Assert.True(unexpected.Count == 0, $"globals outside the allowlist: {string.Join(", ", unexpected)}");
        Assert.True(seen.GetProperty("hosts").GetArrayLength() == 0, $"host objects reachable from globals: {seen.GetProperty("hosts")}");
        Assert.Equal(EngineInternalMembers, seen.GetProperty("internal").EnumerateArray().Select(n => n.GetString()!));
        Assert.Equal(0, seen.GetProperty("internalKinds").GetArrayLength());
        Assert.True(seen.GetProperty("internalFrozen").GetBoolean());
    }

    [Fact]
    public async Task HostObjectsDebugAndNatives_AreNotThere_AndTimersAreTheApis()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["probe.js"] = """
                function outcome(source) {
                  try { const value = new Function(source)(); return value === undefined ? "undefined" : typeof value; } catch (e) { return e.name; }
                }
                // setTimeout, setInterval, clearTimeout and clearInterval are the API's (ScriptTimerTests); no other scheduler is there.
                const names = ["setImmediate", "requestAnimationFrame", "requestIdleCallback",
                  "host", "xHost", "clr", "lib", "HostFunctions", "ExtendedHostFunctions", "Debug", "gc", "print", "version", "quit", "load",
                  "read", "readbuffer", "os", "Realm", "d8", "performance", "Performance", "WebAssembly", "SharedArrayBuffer", "Worker", "postMessage",
                  "structuredClone", "navigator", "window", "self", "global", "process", "require", "module", "exports", "Buffer", "isHostObjectKey",
                  "moduleResultKey", "getPromiseState", "getPromiseResult", "toJson"];
                const seen = {};
                for (const name of names) seen[name] = outcome("return typeof " + name + " === 'undefined' ? undefined : " + name + ";");
                seen.natives = outcome("return %GetOptimizationStatus(function () {});");
                seen.nativesInEval = (() => { try { eval("%DebugPrint(1)"); return "ran"; } catch (e) { return e.name; } })();
                seen.queueMicrotask = typeof queueMicrotask;
                register("/probe", () => ({ body: seen }));
                """,
        });

        var seen = await HttpAssert.JsonAsync(await host.Client.GetAsync("/probe"));

        foreach (var property in seen.EnumerateObject().Where(p => p.Name is not ("natives" or "nativesInEval" or "queueMicrotask")))
        {
            Assert.True(property.Value.GetString() == "undefined", $"{property.Name} is {property.Value}");
        }

        Assert.Equal("SyntaxError", seen.GetProperty("natives").GetString());
        Assert.Equal("SyntaxError", seen.GetProperty("nativesInEval").GetString());
        // queueMicrotask is harmless (it runs within the call that queued it); it may or may not exist.
        Assert.Contains(seen.GetProperty("queueMicrotask").GetString(), new[] { "undefined", "function" });
    }

    [Fact]
    public async Task ArrayBuffer_IsFixedLengthOnly_AndTheOriginalConstructorIsUnreachable_ButEverythingElseWorks()
    {
        await using var host = await EngineHost.StartAsync(new Dictionary<string, string>
        {
            ["buffers.js"] = """
                function error(f) { try { f(); return "no error"; } catch (e) { return e.name + ": " + e.message; } }
                class Sub extends ArrayBuffer {}
                const fromTyped = new Uint8Array(4).buffer;
                register("/buffers", () => ({ body: {
                  resizable: error(() => new ArrayBuffer(8, { maxByteLength: 16 })),
                  reflect: error(() => Reflect.construct(ArrayBuffer, [8, { maxByteLength: 16 }])),
                  subclass: error(() => new Sub(8, { maxByteLength: 16 })),
                  getter: error(() => new ArrayBuffer(8, { get maxByteLength() { return 16; } })),
                  withoutNew: error(() => ArrayBuffer(8)),
                  sameConstructor: fromTyped.constructor === ArrayBuffer && Object.getPrototypeOf(fromTyped).constructor === ArrayBuffer
                    && Object.getOwnPropertyDescriptor(ArrayBuffer, Symbol.species).get.call(7) === 7 && new ArrayBuffer(1).slice(0).constructor === ArrayBuffer,
                  constructorLocked: error(() => { "use strict"; ArrayBuffer.prototype.constructor = function () {}; }),
                  works: new ArrayBuffer(8).byteLength === 8 && new ArrayBuffer(8, {}).resizable === false && new Sub(4) instanceof Sub
                    && new Sub(4) instanceof ArrayBuffer && ArrayBuffer.isView(new Uint8Array(1)) && new ArrayBuffer(8).slice(2).byteLength === 6
                    && new ArrayBuffer(8).transfer(16).byteLength === 16 && ArrayBuffer.name === "ArrayBuffer" && ArrayBuffer.length === 1,
                } }));
                """,
        });

        var seen = await HttpAssert.JsonAsync(await host.Client.GetAsync("/buffers"));

        foreach (var name in new[] { "resizable", "reflect", "subclass", "getter" })
        {
            Assert.StartsWith("RangeError: resizable ArrayBuffers (maxByteLength) are not available", seen.GetProperty(name).GetString(), StringComparison.Ordinal);
        }

        Assert.StartsWith("TypeError", seen.GetProperty("withoutNew").GetString(), StringComparison.Ordinal);
        Assert.True(seen.GetProperty("sameConstructor").GetBoolean());
        Assert.StartsWith("TypeError", seen.GetProperty("constructorLocked").GetString(), StringComparison.Ordinal);
        Assert.True(seen.GetProperty("works").GetBoolean());
    }
}
