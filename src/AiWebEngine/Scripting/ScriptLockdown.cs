using System.Diagnostics;
using Microsoft.ClearScript;
using Microsoft.ClearScript.V8;

namespace AiWebEngine.Scripting;

/// <summary>
/// Takes out of a fresh isolate what V8 offers but the script limits cannot bound, before the
/// bootstrap and any script run.
/// </summary>
/// <remarks>
/// <para>
/// <c>MaxArrayBufferAllocation</c> counts only the memory V8 asks the embedder's allocator for.
/// WebAssembly memories, resizable <c>ArrayBuffer</c>s (<c>maxByteLength</c>) and growable
/// <c>SharedArrayBuffer</c>s are reserved and committed by V8 itself, outside the heap and outside
/// that count: <c>new WebAssembly.Memory({ initial: 1 }).grow(...)</c> took 1 GiB per call. So
/// <c>WebAssembly</c> and <c>SharedArrayBuffer</c> are deleted from the global object (V8 creates
/// them; a script has no other way to reach them), and <c>ArrayBuffer</c> is replaced by a
/// constructor that refuses <c>maxByteLength</c> and never passes options on, so every buffer a
/// script can make is a fixed-length one from the counting allocator.
/// </para>
/// <para>
/// <c>gc</c> is ClearScript's (it starts V8 with <c>--expose-gc</c> for its own use): a script has
/// no need to force full collections.
/// </para>
/// </remarks>
internal static class ScriptLockdown
{
    private static readonly string[] RemovedGlobals = ["WebAssembly", "SharedArrayBuffer", "gc"];

    // Strict mode throughout: V8 then hides the functions of these frames from a script's
    // Error.prepareStackTrace (CallSite.getFunction), so the original constructor cannot leak that way.
    private const string FixedLengthArrayBuffer = """
        (function () {
          "use strict";
          const Native = ArrayBuffer;
          const construct = Reflect.construct;
          const defineProperty = Object.defineProperty;
          const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
          const ownKeys = Reflect.ownKeys;
          const FixedLength = function ArrayBuffer(length) {
            if (new.target === undefined) throw new TypeError("Constructor ArrayBuffer requires 'new'");
            const options = arguments[1];
            if (((typeof options === "object" && options !== null) || typeof options === "function") && options.maxByteLength !== undefined) {
              throw new RangeError("resizable ArrayBuffers (maxByteLength) are not available: their memory would be outside the limit of AiWebEngine:Scripts:MaxHeapMiB");
            }
            return construct(Native, [length], new.target);
          };
          for (const key of ownKeys(Native)) {
            if (key !== "length" && key !== "name" && key !== "prototype") defineProperty(FixedLength, key, getOwnPropertyDescriptor(Native, key));
          }
          defineProperty(FixedLength, "prototype", { __proto__: null, value: Native.prototype, writable: false, enumerable: false, configurable: false });
          defineProperty(Native.prototype, "constructor", { __proto__: null, value: FixedLength, writable: false, enumerable: false, configurable: false });
          defineProperty(globalThis, "ArrayBuffer", { __proto__: null, value: FixedLength, writable: true, enumerable: false, configurable: true });
        })();
        """;

    public static void Apply(V8ScriptEngine engine)
    {
        var global = engine.Global;
        foreach (var name in RemovedGlobals)
        {
            global.DeleteProperty(name);
        }

        engine.Execute(new DocumentInfo("aiwebengine:lockdown.js"), FixedLengthArrayBuffer);

        // A V8 or ClearScript update that made one of them non-configurable would otherwise go unnoticed.
        foreach (var name in RemovedGlobals)
        {
            if (global.GetProperty(name) is not Undefined)
            {
                throw new UnreachableException($"The isolate still has the global '{name}' after the lockdown; scripts could use memory outside MaxHeapMiB.");
            }
        }
    }
}
