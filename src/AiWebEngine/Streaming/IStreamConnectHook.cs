namespace AiWebEngine.Streaming;

/// <summary>Decides, once per connect, whether a client may open a stream and what its metadata is.</summary>
/// <remarks>
/// Implemented where scripts are called (<c>Routing/ScriptStreams.cs</c>): this layer knows no script.
/// The reserved <see cref="StreamAdmission.UserKey"/> is set by <see cref="StreamEndpoint"/> after the hook,
/// from the authenticated identity, whatever the hook returned.
/// </remarks>
internal interface IStreamConnectHook
{
    /// <summary>Runs the hook for the connecting request; it has not answered the request.</summary>
    Task<StreamAdmission> AdmitAsync(HttpContext context, StreamRegistration stream);
}

/// <summary>
/// What a connect hook decided: admitted with metadata, refused (403), the script too busy to ask (503),
/// or the version that owns the hook retired during the call (ask the serving version).
/// </summary>
internal sealed record StreamAdmission(IReadOnlyDictionary<string, string>? Metadata, bool Busy = false, bool Retired = false)
{
    /// <summary>The metadata key that is always the authenticated user id (the <c>sub</c> claim), or absent when anonymous.</summary>
    public const string UserKey = "user";

    public static StreamAdmission Refused { get; } = new((IReadOnlyDictionary<string, string>?)null);

    public static StreamAdmission ScriptBusy { get; } = new(null, Busy: true);

    public static StreamAdmission OwnerRetired { get; } = new(null, Retired: true);
}
