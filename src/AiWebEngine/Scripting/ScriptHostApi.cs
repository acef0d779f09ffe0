using System.Text.Json;
using Microsoft.ClearScript;

namespace AiWebEngine.Scripting;

/// <summary>
/// The .NET half of the script API: the one object a script's bootstrap closure can reach.
/// </summary>
/// <remarks>
/// Only members marked <see cref="ScriptMemberAttribute"/> are visible to V8; everything else
/// (including <c>GetType</c> and <c>ToString</c>) is hidden by <see cref="NoDefaultScriptAccessAttribute"/>.
/// Methods that can fail return an error message for the bootstrap to throw as a JavaScript
/// <c>Error</c>, or <see langword="null"/> on success; they never throw into V8.
/// </remarks>
[NoDefaultScriptAccess]
public sealed class ScriptHostApi
{
    private readonly ScriptInstance _instance;

    internal ScriptHostApi(ScriptInstance instance) => _instance = instance;

    [ScriptMember("Register", ScriptAccess.Full)]
    public string? Register(string path, string handlerRef, string method, string? optionsJson) =>
        RegistrationOptions.TryParse(optionsJson, RegistrationKind.Route, out var options, out var error)
            ? _instance.Registrar.Register(_instance, path, handlerRef, method, options)
            : error;

    [ScriptMember("RegisterStream", ScriptAccess.Full)]
    public string? RegisterStream(string path, string? optionsJson) =>
        RegistrationOptions.TryParse(optionsJson, RegistrationKind.Stream, out var options, out var error)
            ? _instance.Registrar.RegisterStream(_instance, path, options)
            : error;

    [ScriptMember("SendStreamMessage", ScriptAccess.Full)]
    public object SendStreamMessage(string data) => _instance.Host.Streams.SendToOwnStreams(_instance.Uri, data);

    [ScriptMember("SendStreamMessageToPath", ScriptAccess.Full)]
    public object SendStreamMessageToPath(string path, string data, string? filterJson) =>
        FilterJson.TryParse(filterJson, out var filter, out var error)
            ? _instance.Host.Streams.SendToPath(path, data, filter)
            : error!;

    [ScriptMember("RegisterGraphQL", ScriptAccess.Full)]
    public string? RegisterGraphQL(int kind, string name, string sdl, string? resolverRef, string? optionsJson)
    {
        var fieldKind = (GraphQL.GraphQLFieldKind)kind;
        var registration = fieldKind switch
        {
            GraphQL.GraphQLFieldKind.Query => RegistrationKind.Query,
            GraphQL.GraphQLFieldKind.Mutation => RegistrationKind.Mutation,
            _ => RegistrationKind.Subscription,
        };
        return RegistrationOptions.TryParse(optionsJson, registration, out var options, out var error)
            ? _instance.Registrar.RegisterGraphQL(_instance, fieldKind, name, sdl, resolverRef, options)
            : error;
    }

    [ScriptMember("SendSubscriptionMessage", ScriptAccess.Full)]
    public object SendSubscriptionMessage(string name, string data, string? filterJson) =>
        FilterJson.TryParse(filterJson, out var filter, out var error)
            ? _instance.Host.Subscriptions.Send(name, data, filter)
            : error!;

    // crypto: a result is "r" + the value, a failure "e" + the message (both are strings).
    [ScriptMember("RandomBytes", ScriptAccess.Full)]
    public string RandomBytes(double count) => Tagged(ScriptCrypto.RandomBytes(count));

    [ScriptMember("RandomUuid", ScriptAccess.Full)]
    public string RandomUuid() => Guid.NewGuid().ToString("D");

    [ScriptMember("Digest", ScriptAccess.Full)]
    public string Digest(string algorithm, string? key, string partsJson) => Tagged(ScriptCrypto.Digest(algorithm, key, partsJson));

    [ScriptMember("TimingSafeEqual", ScriptAccess.Full)]
    public object TimingSafeEqual(string a, string b)
    {
        var (equal, error) = ScriptCrypto.TimingSafeEqual(a, b);
        return error ?? (object)equal;
    }

    private static string Tagged((string? Value, string? Error) result) => result.Error is { } error ? "e" + error : "r" + result.Value;

    // secrets.get: "r" + the value, "u" when it is not configured, "e" + the message.
    [ScriptMember("GetSecret", ScriptAccess.Full)]
    public string GetSecret(string name) => _instance.Host.Logger.Secrets.Get(_instance.Uri, name) switch
    {
        { Error: { } error } => "e" + error,
        { Value: { } value } => "r" + value,
        _ => "u",
    };

    [ScriptMember("SetTimer", ScriptAccess.Full)]
    public string? SetTimer(double id, double delayMilliseconds, bool repeat) =>
        id is >= 1 and <= int.MaxValue && id == Math.Floor(id) ? _instance.SetTimer((int)id, delayMilliseconds, repeat) : "the timer id is not valid";

    [ScriptMember("ClearTimer", ScriptAccess.Full)]
    public void ClearTimer(double id)
    {
        if (id is >= 1 and <= int.MaxValue && id == Math.Floor(id))
        {
            _instance.ClearTimer((int)id);
        }
    }

    [ScriptMember("Schedule", ScriptAccess.Full)]
    public string? Schedule(string name, string spec, string handlerRef) => _instance.Schedule(name, spec, handlerRef);

    /// <summary>fetch: <paramref name="body"/> tagged as for crypto ("t" text, "b" bytes) or null.</summary>
    [ScriptMember("Fetch", ScriptAccess.Full)]
    public string? Fetch(double id, string url, string method, string? headersJson, string? body)
    {
        if (id is < 1 or > int.MaxValue || id != Math.Floor(id))
        {
            return "the fetch id is not valid";
        }

        byte[]? bytes = null;
        if (body is not null)
        {
            if (body.Length == 0 || (body[0] != 't' && body[0] != 'b'))
            {
                return "body must be a string or bytes";
            }

            if (body[0] == 't')
            {
                bytes = System.Text.Encoding.UTF8.GetBytes(body, 1, body.Length - 1);
            }
            else
            {
                bytes = new byte[body.Length - 1];
                for (var i = 1; i < body.Length; i++)
                {
                    if (body[i] > 0xFF)
                    {
                        return "body must be a string or bytes";
                    }

                    bytes[i - 1] = (byte)body[i];
                }
            }
        }

        return _instance.Fetch((int)id, url, method, headersJson, bytes);
    }

    /// <summary>A binary string (one char per byte) decoded as UTF-8, for a fetch Response's text() and json().</summary>
    [ScriptMember("DecodeUtf8", ScriptAccess.Full)]
    public string DecodeUtf8(string binary)
    {
        var bytes = new byte[binary.Length];
        for (var i = 0; i < binary.Length; i++)
        {
            bytes[i] = (byte)binary[i];
        }

        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    private static readonly string[] StorageOperations = ["get", "set", "delete", "list", "increment", "compareAndSet"];

    [ScriptMember("Storage", ScriptAccess.Full)]
    public string? Storage(double id, string operation, string key, string? argument) =>
        id is < 1 or > int.MaxValue || id != Math.Floor(id) ? "the storage call id is not valid"
        : !StorageOperations.Contains(operation) ? "unknown storage operation"
        : _instance.Storage((int)id, operation, key, argument);

    [ScriptMember("Log", ScriptAccess.Full)]
    public void Log(int level, string message) => _instance.Host.Logger.Write(_instance.Uri, (LogLevel)level, message);

    /// <summary>
    /// Checks a handler's answer (<see cref="ScriptResponse.TryCreate"/>) and keeps it for its call: returns the
    /// token (a number) the bootstrap hands back as the call's result, or the message of what HTTP cannot carry.
    /// </summary>
    [ScriptMember("Respond", ScriptAccess.Full)]
    public object Respond(double status, string? contentType, string? headersJson, string? body) =>
        ScriptResponse.TryCreate(status, contentType, headersJson, body, out var response, out var error)
            ? (double)_instance.KeepResponse(response!)
            : error!;

    /// <summary>As <see cref="Respond"/>, for a body of bytes (a binary string: one char 0–255 per byte).</summary>
    [ScriptMember("RespondBytes", ScriptAccess.Full)]
    public object RespondBytes(double status, string? contentType, string? headersJson, string? body) =>
        ScriptResponse.TryCreate(status, contentType, headersJson, body, out var response, out var error, binary: true)
            ? (double)_instance.KeepResponse(response!)
            : error!;
}

/// <summary>Parses the filter object the bootstrap serialized: a JSON object of string values.</summary>
/// <remarks>
/// The bootstrap builds it with <c>JSON.stringify</c> and <c>Object.keys</c>, which a script can
/// replace, so anything else (not JSON, not an object, a value that is not a string) is refused here.
/// </remarks>
internal static class FilterJson
{
    private const string Expected = "filter did not reach the server as an object of metadata values such as { room: \"general\" }";

    public static bool TryParse(string? json, out IReadOnlyDictionary<string, string>? filter, out string? error)
    {
        filter = null;
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
            error = Expected;
            return false;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = Expected;
                return false;
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    error = $"filter.{property.Name} did not reach the server as a string";
                    return false;
                }

                result[property.Name] = property.Value.GetString()!;
            }

            filter = result;
            return true;
        }
    }
}
