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
    public string? Register(string path, string handlerRef, string method) =>
        _instance.Registrar.Register(_instance, path, handlerRef, method);

    [ScriptMember("Log", ScriptAccess.Full)]
    public void Log(int level, string message) => _instance.Logger.Write(_instance.Uri, (LogLevel)level, message);

    [ScriptMember("Respond", ScriptAccess.Full)]
    public void Respond(int status, string contentType, string? headersJson, string body) =>
        _instance.CurrentResponse = new ScriptResponse(status, contentType, headersJson, body);
}

/// <summary>What a handler returned, normalized by the bootstrap.</summary>
/// <param name="Status">HTTP status, 100-599.</param>
/// <param name="ContentType">Content type, or empty for the default text type.</param>
/// <param name="HeadersJson">A JSON object of header names to string values, or <see langword="null"/>.</param>
/// <param name="Body">The body text.</param>
public sealed record ScriptResponse(int Status, string ContentType, string? HeadersJson, string Body);
