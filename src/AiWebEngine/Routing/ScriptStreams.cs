using System.Text.Json;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Routing;

/// <summary>
/// Turns a script's <c>registerWebStream(path, options)</c> into the <see cref="StreamRegistration"/> its
/// endpoint serves: the options and their authorization metadata, and the <c>authorize</c> hook bound to
/// the registering version.
/// </summary>
internal sealed partial class ScriptStreams(IOptions<ScriptOptions> scripts, ILogger<ScriptStreams> logger)
{
    private readonly bool _exposeCredentials = scripts.Value.ExposeCredentials;
    private readonly ILogger _logger = logger;

    public StreamRegistration Registration(ScriptInstance instance, string path, RegistrationOptions options) =>
        new(path, instance.Uri)
        {
            Hook = options.Authorize is { } hookRef ? new Hook(this, instance, hookRef) : null,
            EndpointMetadata = [options, .. ScriptEndpointDataSource.AccessMetadata(options.Auth)],
            RateLimit = options.RateLimit,
        };

    /// <summary>
    /// What a hook's answer means. The JSON comes from the script's realm (its <c>JSON.stringify</c> can be
    /// replaced), so it is judged here: <c>true</c> or <c>undefined</c> admit with no metadata, an object
    /// whose every value is a string admits with those, <c>false</c> refuses, and anything else is an
    /// error (refused). The <c>user</c> key is the engine's and is replaced after this.
    /// </summary>
    public static bool TryRead(string? json, out IReadOnlyDictionary<string, string>? metadata, out string? error)
    {
        metadata = null;
        error = null;
        if (json is null)
        {
            metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            switch (root.ValueKind)
            {
                case JsonValueKind.True:
                    metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                    return true;
                case JsonValueKind.False:
                    return true;
                case JsonValueKind.Object:
                    var values = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var property in root.EnumerateObject())
                    {
                        if (property.Value.ValueKind != JsonValueKind.String)
                        {
                            error = $"the metadata it returned has '{property.Name}' of kind {property.Value.ValueKind}; every value must be a string";
                            return false;
                        }

                        values[property.Name] = property.Value.GetString()!;
                    }

                    metadata = values;
                    return true;
            }
        }
        catch (JsonException)
        {
            // Falls through: what came back is not JSON at all.
        }

        error = "it must return true, false, undefined or an object of string metadata (or a Promise of one)";
        return false;
    }

    private sealed class Hook(ScriptStreams owner, ScriptInstance instance, string hookRef) : IStreamConnectHook
    {
        public async Task<StreamAdmission> AdmitAsync(HttpContext context, StreamRegistration stream)
        {
            string? json;
            try
            {
                json = await instance.AuthorizeAsync(hookRef, await ScriptRequest.ToJsonAsync(context, [], owner._exposeCredentials), context.RequestAborted);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return StreamAdmission.Refused; // The client left; nothing is answered.
            }
            catch (ObjectDisposedException)
            {
                return StreamAdmission.OwnerRetired;
            }
            catch (ScriptBusyException)
            {
                // Not logged: under a flood that would be one line per refused connect; the metrics count them.
                return StreamAdmission.ScriptBusy;
            }
            catch (ScriptTimeoutException e)
            {
                HookTimedOut(owner._logger, instance.Uri, stream.Path, context.TraceIdentifier, e.Message);
                return StreamAdmission.Refused;
            }
            catch (ScriptFailedException e)
            {
                HookFailed(owner._logger, instance.Uri, stream.Path, context.TraceIdentifier, e.Describe());
                return StreamAdmission.Refused;
            }

            if (!TryRead(json, out var metadata, out var error))
            {
                HookFailed(owner._logger, instance.Uri, stream.Path, context.TraceIdentifier, error!);
                return StreamAdmission.Refused;
            }

            return metadata is null ? StreamAdmission.Refused : new StreamAdmission(metadata);
        }
    }

    [LoggerMessage(EventId = 1120, Level = LogLevel.Error, Message = "Script {ScriptUri}: the authorize hook of stream {Path} failed (request {RequestId}), so the connection was refused: {Error}")]
    private static partial void HookFailed(ILogger logger, string scriptUri, string path, string requestId, string error);

    [LoggerMessage(EventId = 1121, Level = LogLevel.Error, Message = "Script {ScriptUri}: the authorize hook of stream {Path} timed out (request {RequestId}), so the connection was refused: {Error}")]
    private static partial void HookTimedOut(ILogger logger, string scriptUri, string path, string requestId, string error);
}
