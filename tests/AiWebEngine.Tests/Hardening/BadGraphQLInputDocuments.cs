using System.Text;
using System.Text.Json;

namespace AiWebEngine.Tests.Hardening;

/// <summary>
/// One generated GraphQL request: its JSON body and the error code it must be refused with
/// (<see cref="Code"/>), or null when it must run; with <see cref="MayBeInvalid"/>, a document that
/// parses and may run or fail validation (a mutated one: which rule it breaks, if any, is not known here).
/// </summary>
public sealed record FuzzRequest(string Kind, string Body, string? Code, bool MayBeInvalid = false)
{
    /// <summary>Whether it must be refused with errors, nothing run.</summary>
    public bool MustFail => Code is not null;
}

/// <summary>
/// Deterministic generator of malformed, deeply nested and hostile GraphQL requests against
/// <see cref="BadGraphQLInputTests.Schema"/>: the same seed gives the same requests on every run.
/// </summary>
public sealed class BadGraphQLInputDocuments(int seed)
{
    private static readonly string[] Valid =
    [
        "{ calls }",
        "{ node { name child { name child { name } } } }",
        "query Q($t: String, $n: Int) { echo(text: $t, n: $n) }",
        "{ node { ...N } } fragment N on Node { name children { name } }",
        "{ a: calls b: calls __typename }",
        "query { node { child @skip(if: true) { name } ... on Node { name } } }",
        "{ __schema { queryType { name } types { name kind fields { name type { name ofType { name } } } } } }",
        "{ __type(name: \"Node\") { name fields { name } } }",
        "mutation { bump }",
        "query A { calls } query B { node { name } }",
        "{ echo(text: \"\"\"block\nstring\"\"\", list: [\"a\", \"b\"], obj: { a: \"x\", b: [1, 2], nested: { a: \"y\" } }) }",
    ];

    private static readonly string[] Tokens =
    [
        "{", "}", "(", ")", "[", "]", ":", "$", "!", "@", "...", "\"", "\"\"\"", "#", ",", "=", "|", "&",
        "on", "fragment", "query", "mutation", "subscription", "null", "true", "1e999", "-0", "0x1F", "\u0000", "\u00e9",
        "\ud83c\udfc3", " ", "\n", "\t", "__typename", "__schema", "$x", "@skip(if: true)", "@include(if: $x)", "node", "calls",
        "child", "name", "echo(text: 1)", "echo(n: \"x\")", "...on Node", "\\", "\ufeff", "\u2028",
    ];

    /// <summary>The request is not a GraphQL request (no query, wrong JSON shape): 400 under either media type.</summary>
    public const string BadRequest = "BAD_REQUEST";

    private const string SyntaxError = "SYNTAX_ERROR";
    private const string MaxDepthExceeded = "MAX_DEPTH_EXCEEDED";

    // The engine's defaults (AiWebEngine:GraphQL:MaxDepth, MaxFields), which the fuzz test runs with.
    private const int MaxDepth = 25;
    private const int MaxFields = 2000;
    private const int MaxFragments = 100;

    private readonly Random _random = new(seed);

    /// <summary>The requests, in a fixed order: <paramref name="count"/> of them, the kinds interleaved.</summary>
    public IEnumerable<FuzzRequest> Generate(int count)
    {
        Func<FuzzRequest>[] kinds =
        [
            Mutated, Mutated, Mutated, Mutated, Garbage, BraceSoup, Deep, FragmentBomb, FragmentChain, FragmentCycle,
            AliasFlood, Wide, BadVariables, DeepIntrospection, BadShape,
        ];
        for (var i = 0; i < count; i++)
        {
            yield return kinds[i % kinds.Length]();
        }
    }

    private static string Body(string query, object? variables = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?> { ["query"] = query, ["variables"] = variables });

    // A valid document with a few random edits: most are malformed, a few still valid; each answer
    // must be well formed either way.
    private FuzzRequest Mutated()
    {
        var text = new StringBuilder(Valid[_random.Next(Valid.Length)]);
        var edits = _random.Next(1, 6);
        for (var i = 0; i < edits && text.Length > 0; i++)
        {
            var at = _random.Next(text.Length);
            switch (_random.Next(4))
            {
                case 0:
                    text.Remove(at, Math.Min(_random.Next(1, 8), text.Length - at));
                    break;
                case 1:
                    text.Insert(at, Tokens[_random.Next(Tokens.Length)]);
                    break;
                case 2:
                    var length = Math.Min(_random.Next(1, 20), text.Length - at);
                    text.Insert(at, text.ToString(at, length));
                    break;
                default:
                    text.Length = at;
                    break;
            }
        }

        var query = text.ToString();
        return new FuzzRequest("mutated", Body(query), MutatedCode(query), MayBeInvalid: true);
    }

    // An empty query is no request; one that does not parse is a syntax error; one that parses may
    // run or fail validation (null).
    private static string? MutatedCode(string query)
    {
        if (query.Length == 0)
        {
            return BadRequest;
        }

        try
        {
            GraphQLParser.Parser.Parse(query);
            return null;
        }
        catch (GraphQLParser.Exceptions.GraphQLSyntaxErrorException)
        {
            return SyntaxError;
        }
    }

    private FuzzRequest Garbage()
    {
        var text = new StringBuilder();
        var length = _random.Next(1, 400);
        for (var i = 0; i < length; i++)
        {
            text.Append((char)_random.Next(1, 0xD7FF));
        }

        return new FuzzRequest("garbage", Body(text.ToString()), SyntaxError);
    }

    private FuzzRequest BraceSoup()
    {
        var depth = _random.Next(1, 2000);
        var text = new string('{', depth) + (_random.Next(2) == 0 ? "calls" : "") + new string('}', _random.Next(depth + 1));
        return new FuzzRequest("brace soup", Body(text), SyntaxError);
    }

    // { node { child { child ... } } }: over the depth limit (25) it must fail; deeper than the parser's
    // 128 nodes it is a syntax error; far deeper it must still not overflow a stack.
    private FuzzRequest Deep()
    {
        var depth = _random.Next(2) == 0 ? _random.Next(20, 140) : _random.Next(140, 5_000);
        var text = new StringBuilder("{ node ");
        for (var i = 1; i < depth; i++)
        {
            text.Append("{ child ");
        }

        text.Append("{ name }").Append('}', depth - 1).Append(" }");
        // node, depth - 1 levels of child, then name.
        return new FuzzRequest("deep", Body(text.ToString()), depth + 1 > MaxDepth ? MaxDepthExceeded : null);
    }

    // Each fragment spreads the next twice: 2^levels fields from a few hundred bytes.
    private FuzzRequest FragmentBomb()
    {
        var levels = _random.Next(10, 24);
        var text = new StringBuilder("{ node { ...F0 } }");
        for (var i = 0; i < levels; i++)
        {
            text.Append($" fragment F{i} on Node {{ child {{ ...F{i + 1} }} children {{ ...F{i + 1} }} }}");
        }

        text.Append($" fragment F{levels} on Node {{ name }}");
        // node, then a spread and a field per level, the spread of the last fragment and its name:
        // 2 * levels + 3 levels deep. F(k) selects 3 * 2^(levels - k) - 2 fields, plus node.
        var depth = (2 * levels) + 3;
        var fields = (3L << levels) - 2 + 1;
        return new FuzzRequest("fragment bomb", Body(text.ToString()), depth > MaxDepth ? MaxDepthExceeded : fields > MaxFields ? "MAX_FIELDS_EXCEEDED" : null);
    }

    private FuzzRequest FragmentChain()
    {
        // About half the chains define more fragments than MaxFragments (100), the rest are refused by depth.
        var length = _random.Next(30, 170);
        var text = new StringBuilder("{ node { ...F0 } }");
        for (var i = 0; i < length; i++)
        {
            text.Append($" fragment F{i} on Node {{ ...F{i + 1} }}");
        }

        text.Append($" fragment F{length} on Node {{ name }}");
        // length + 1 fragments; node, length + 1 spreads, name: always deeper than the depth limit.
        return new FuzzRequest("fragment chain", Body(text.ToString()), length + 1 > MaxFragments ? "MAX_FRAGMENTS_EXCEEDED" : MaxDepthExceeded);
    }

    private FuzzRequest FragmentCycle()
    {
        var length = _random.Next(1, 50);
        var text = new StringBuilder("{ node { ...F0 } }");
        for (var i = 0; i < length; i++)
        {
            text.Append($" fragment F{i} on Node {{ name ...F{(i + 1) % length} }}");
        }

        // The measure follows the cycle once (node, then a spread per fragment, then the spread that
        // closes it): deeper than the limit from 24 fragments; a shorter cycle is validation's to refuse.
        return new FuzzRequest("fragment cycle", Body(text.ToString()), length + 2 > MaxDepth ? MaxDepthExceeded : "NO_FRAGMENT_CYCLES");
    }

    private FuzzRequest AliasFlood()
    {
        var count = _random.Next(101, 1000);
        var text = new StringBuilder("{");
        for (var i = 0; i < count; i++)
        {
            text.Append($" a{i}: calls");
        }

        return new FuzzRequest("alias flood", Body(text.Append(" }").ToString()), "MAX_ALIASES_EXCEEDED");
    }

    private FuzzRequest Wide()
    {
        var count = _random.Next(2001, 6_000);
        var text = new StringBuilder("{");
        for (var i = 0; i < count; i++)
        {
            text.Append(" calls");
        }

        return new FuzzRequest("wide", Body(text.Append(" }").ToString()), "MAX_FIELDS_EXCEEDED");
    }

    private FuzzRequest BadVariables()
    {
        const string Query = "query Q($t: String, $n: Int, $o: EchoInput, $l: [String]) { echo(text: $t, n: $n, obj: $o, list: $l) }";
        object variables = _random.Next(8) switch
        {
            0 => new Dictionary<string, object> { ["n"] = "not a number" },
            1 => new Dictionary<string, object> { ["n"] = 1e300 },
            2 => new Dictionary<string, object> { ["t"] = new { a = 1 } },
            3 => new Dictionary<string, object> { ["o"] = new { a = 5, b = "x", unknown = true } },
            4 => new Dictionary<string, object> { ["l"] = Nested(_random.Next(2, 60)) },
            5 => new Dictionary<string, object> { ["o"] = NestedInput(_random.Next(30, 60)) },
            6 => new Dictionary<string, object> { ["undeclared"] = 1, ["n"] = long.MaxValue },
            _ => new Dictionary<string, object> { ["t"] = new string('x', _random.Next(1, 20_000)), ["n"] = "1" },
        };
        return new FuzzRequest("bad variables", Body(Query, variables), "INVALID_VALUE");
    }

    private static object Nested(int depth) => depth == 0 ? "leaf" : new object[] { Nested(depth - 1) };

    // Valid all the way down but for the leaf, whose 'a' is not a String.
    private static object NestedInput(int depth) => depth == 0 ? new { a = 5 } : new { nested = NestedInput(depth - 1) };

    private FuzzRequest DeepIntrospection()
    {
        var depth = _random.Next(26, 100);
        var text = new StringBuilder("{ __schema { types { fields { type ");
        for (var i = 4; i < depth; i++)
        {
            text.Append("{ ofType ");
        }

        text.Append("{ name }").Append('}', depth - 4).Append(" } } } }");
        return new FuzzRequest("deep introspection", Body(text.ToString()), MaxDepthExceeded);
    }

    // Well-formed JSON that is not a GraphQL request.
    private FuzzRequest BadShape()
    {
        var body = _random.Next(7) switch
        {
            0 => "[]",
            1 => "\"{ calls }\"",
            2 => """{"query": 42}""",
            3 => """{"query": "{ calls }", "variables": [1]}""",
            4 => """{"query": "{ calls }", "operationName": {}}""",
            5 => """{"query": null}""",
            _ => """{"query": "{ calls }", "extensions": "x"}""",
        };
        return new FuzzRequest("bad shape", body, BadRequest);
    }
}
