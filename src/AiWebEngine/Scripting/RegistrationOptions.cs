using System.Text.Json;
using AiWebEngine.Security;

namespace AiWebEngine.Scripting;

/// <summary>What a registration is: a route, a stream or a GraphQL field of one kind. It decides which options it takes.</summary>
internal enum RegistrationKind
{
    Route,
    Stream,
    Query,
    Mutation,
    Subscription,
}

/// <summary>
/// The options object a script passes last to <c>register</c>, <c>registerWebStream</c> and
/// <c>registerGraphQL*</c>: <c>auth</c> (who may use it), <c>rateLimit</c> (a configured policy's name),
/// <c>authorize</c> (streams: the connect hook) and <c>filter</c> (subscriptions: the per-subscriber filter).
/// </summary>
/// <remarks>
/// Invariant: what reaches the server is re-checked here, since the bootstrap's checks run in the
/// script's realm (a script can replace <c>JSON.stringify</c> and <c>Object.keys</c>); an unknown key
/// is an error, so a misspelt <c>auht</c> can never leave a path public by accident.
/// </remarks>
internal sealed record RegistrationOptions(AccessRule? Auth, string? RateLimit, string? Authorize, string? Filter)
{
    public static RegistrationOptions None { get; } = new(null, null, null, null);

    /// <summary>The option names <paramref name="kind"/> takes, in the order error messages list them.</summary>
    public static string[] Names(RegistrationKind kind) => kind switch
    {
        RegistrationKind.Stream => ["auth", "authorize", "rateLimit"],
        RegistrationKind.Subscription => ["auth", "filter", "rateLimit"],
        _ => ["auth", "rateLimit"],
    };

    public static bool TryParse(string? json, RegistrationKind kind, out RegistrationOptions options, out string? error)
    {
        options = None;
        error = null;
        if (json is null)
        {
            return true;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            error = "options did not reach the server as an object such as { auth: \"user\" }";
            return false;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "options must be an object such as { auth: \"user\" }";
                return false;
            }

            var names = Names(kind);
            AccessRule? auth = null;
            string? rateLimit = null, authorize = null, filter = null;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (Array.IndexOf(names, property.Name) < 0)
                {
                    error = $"unknown option '{property.Name}'; the options here are {string.Join(", ", names)}";
                    return false;
                }

                switch (property.Name)
                {
                    case "auth" when !AccessRule.TryParse(property.Value, out auth, out error):
                        return false;
                    case "rateLimit" when !TryString(property, "the name of a configured rate-limit policy", out rateLimit, out error):
                    case "authorize" when !TryString(property, "a function or the name of a global function", out authorize, out error):
                    case "filter" when !TryString(property, "a function or the name of a global function", out filter, out error):
                        return false;
                }
            }

            options = new RegistrationOptions(auth, rateLimit, authorize, filter);
            return true;
        }
    }

    private static bool TryString(JsonProperty property, string expected, out string? value, out string? error)
    {
        value = null;
        error = null;
        if (property.Value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } text)
        {
            value = text;
            return true;
        }

        error = $"{property.Name} must be {expected}";
        return false;
    }
}
