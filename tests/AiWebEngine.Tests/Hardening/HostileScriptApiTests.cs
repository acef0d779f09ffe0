using System.Net;
using System.Text.Json;
using AiWebEngine.Tests.Infrastructure;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// Issue 7, point 1, last item: every function of the script API called with wrong types, missing
/// arguments, <c>null</c> and huge values. Each call either works or throws an <c>Error</c> whose
/// message starts with the function's name (of at most 1 000 characters; a script's own throwing getter or
/// <c>toJSON</c> may surface as its own error); never another exception, a hang or a crash, and the server keeps serving.
/// </summary>
public sealed class HostileScriptApiTests
{
    // Each function is called with valid arguments, then with one position replaced by each hostile
    // value. The outcome of each call is recorded: "ok", "api" (an Error naming the function), "own"
    // (the script's own error, thrown from its getter or toJSON) or what else happened.
    private const string Script = """
        registerWebStream("/hostile/stream");
        registerGraphQLSubscription("hostileEvents", "type Subscription { hostileEvents: String }", null);
        const huge = "x".repeat(2 * 1024 * 1024 + 1); // over every limit of the API (10 MiB: HostileScriptTests)
        function own() { return new Error("own trap"); }
        const hostile = {
          undefined: undefined, null: null, zero: 0, negative: -1, nan: NaN, infinity: Infinity, unsafe: 2 ** 53 + 1,
          max: Number.MAX_VALUE, true: true, empty: "", huge, hugeObject: { text: huge }, object: {}, array: [],
          nestedArray: JSON.parse("[".repeat(5000) + "]".repeat(5000)),
          symbol: Symbol("s"), function: () => 1, bigint: 10n, date: new Date(0), regexp: /x/,
          throwingGetter: { get room() { throw own(); } },
          throwingToJson: { toJSON() { throw own(); } },
          proxy: new Proxy({}, { get() { throw own(); }, ownKeys() { throw own(); } }),
          controlChars: "/a\r\nb\u0000",
          unicode: "/\ud800\udfff\uffff",
        };
        let n = 0;
        const calls = {
          register: () => ["/hostile/r" + (n++), () => ({}), "GET"],
          writeLog: () => ["message"],
          "console.log": () => ["a", { b: 1 }],
          "console.error": () => ["a"],
          registerWebStream: () => ["/hostile/s" + (n++)],
          sendStreamMessage: () => [{ ok: true }],
          sendStreamMessageToPath: () => ["/hostile/stream", "data", { room: "r" }],
          registerGraphQLQuery: () => ["q" + n, "type Query { q" + (n++) + ": String }", () => "x"],
          registerGraphQLMutation: () => ["m" + n, "type Mutation { m" + (n++) + ": String }", () => "x"],
          registerGraphQLSubscription: () => ["s" + n, "type Subscription { s" + (n++) + ": String }", null],
          sendSubscriptionMessage: () => ["hostileEvents", "data", { room: "r" }],
        };
        function fn(name) { return name.startsWith("console.") ? console[name.slice(8)] : globalThis[name]; }
        function attempt(name, args) {
          try {
            fn(name)(...args);
            return "ok";
          } catch (e) {
            if (e instanceof Error && e.message.startsWith(name + ": ")) return e.message.length <= 1000 ? "api" : "an Error of " + e.message.length + " characters: " + e.message.slice(0, 200);
            if (e instanceof Error && e.message === "own trap") return "own";
            const text = e instanceof Error ? e.constructor.name + ": " + e.message : typeof e + " " + String(e);
            return "other: " + text.slice(0, 300);
          }
        }
        register("/hostile/functions", () => ({ body: Object.keys(calls) }));
        register("/hostile/run/{name}", (req) => {
          const outcomes = {};
          const name = req.params.name;
          {
            for (let position = 0; position < calls[name]().length; position++) {
              for (const key of Object.keys(hostile)) {
                const args = calls[name]();
                args[position] = hostile[key];
                outcomes[name + "(" + position + ":" + key + ")"] = attempt(name, args);
              }
              const missing = calls[name]().slice(0, position);
              outcomes[name + "(missing " + position + ")"] = attempt(name, missing);
            }
          }
          return { body: outcomes };
        });
        """;

    [Fact]
    public async Task EveryApiFunction_WithEveryHostileArgument_WorksOrThrowsAnErrorNamingIt()
    {
        await using var host = await EngineHost.StartAsync(
            Canary.With(new Dictionary<string, string> { ["hostile.js"] = Script }),
            new Dictionary<string, string?> { ["AiWebEngine:Scripts:CallTimeout"] = "00:01:00" });
        await using var canary = await Canary.ConnectAsync(host);

        var functions = await HttpAssert.JsonAsync(await host.Client.GetAsync("/hostile/functions"));
        var outcomes = new List<JsonProperty>();
        foreach (var function in functions.EnumerateArray())
        {
            var answer = await HttpAssert.JsonAsync(await host.Client.GetAsync("/hostile/run/" + function.GetString()));
            outcomes.AddRange(answer.EnumerateObject());
        }

        var wrong = outcomes
            .Where(o => o.Value.GetString() is not ("ok" or "api" or "own"))
            .Select(o => $"{o.Name} → {o.Value.GetString()}")
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} calls ended in something other than a result or an Error naming the function:\n{string.Join('\n', wrong)}");
        Assert.True(outcomes.Count > 500, "the matrix did not run");
        await canary.AssertHealthyAsync();
    }
}
