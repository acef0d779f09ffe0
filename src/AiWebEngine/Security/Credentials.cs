namespace AiWebEngine.Security;

/// <summary>The request headers that carry a credential, which scripts do not see unless the operator opts in.</summary>
public static class Credentials
{
    /// <summary>Whether <paramref name="name"/> (any case) is <c>Authorization</c> or <c>Cookie</c>.</summary>
    public static bool IsCredentialHeader(string name) =>
        name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase);
}
