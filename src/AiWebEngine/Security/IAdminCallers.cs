namespace AiWebEngine.Security;

/// <summary>
/// Tells whether a request comes from the engine's administrator, by the rule that guards the
/// management API (see <c>AdminAccess</c>), so that other endpoints can show diagnostics
/// (script error messages and lines, failed scripts in <c>/health</c>) to the administrator only.
/// </summary>
/// <remarks>
/// Asking counts nothing against the failed-attempt limit: a public endpoint sees bearer tokens that
/// are not meant for the engine (a script route's own users), and a wrong one only means "not admin".
/// </remarks>
internal interface IAdminCallers
{
    bool IsAdmin(HttpContext context);
}
