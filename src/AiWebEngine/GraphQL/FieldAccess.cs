using System.Security.Claims;
using AiWebEngine.Security;
using GraphQL;
using Microsoft.AspNetCore.Authorization;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Enforces a root field's <c>auth</c> option (<see cref="AccessRule"/>) with ASP.NET Core authorization,
/// for every transport, before the field's resolver, rate limit or event source is touched.
/// </summary>
/// <remarks>
/// Invariants: the decision is made in .NET from the caller's principal (no script code can weaken it);
/// a caller without a user id is <see cref="FieldAccessDecision.Unauthenticated"/>, a signed-in one
/// that the policy refuses is <see cref="FieldAccessDecision.Forbidden"/>; a field without a rule is open.
/// </remarks>
internal sealed class FieldAccess(IAuthorizationService authorization, IAuthorizationPolicyProvider policies)
{
    /// <summary>The <c>extensions.code</c> of a field refused to an anonymous caller (or one whose credential was not valid).</summary>
    public const string UnauthenticatedCode = "UNAUTHENTICATED";

    /// <summary>The <c>extensions.code</c> of a field refused to a signed-in user.</summary>
    public const string ForbiddenCode = "FORBIDDEN";

    public async Task<FieldAccessDecision> DecideAsync(GraphQLField field, ClaimsPrincipal? user)
    {
        if (field.Options.Auth is not { } rule)
        {
            return FieldAccessDecision.Allowed;
        }

        var principal = user ?? new ClaimsPrincipal(new ClaimsIdentity());
        var policy = await rule.ResolveAsync(policies);
        var result = await authorization.AuthorizeAsync(principal, policy);
        if (result.Succeeded)
        {
            return FieldAccessDecision.Allowed;
        }

        return ScriptUser.Id(principal) is null ? FieldAccessDecision.Unauthenticated : FieldAccessDecision.Forbidden;
    }

    /// <summary>Throws the field's GraphQL error when <paramref name="user"/> may not use it.</summary>
    public async ValueTask CheckAsync(GraphQLField field, ClaimsPrincipal? user)
    {
        if (field.Options.Auth is null)
        {
            return;
        }

        switch (await DecideAsync(field, user))
        {
            case FieldAccessDecision.Unauthenticated:
                throw new ExecutionError(Message(field, FieldAccessDecision.Unauthenticated)) { Code = UnauthenticatedCode };
            case FieldAccessDecision.Forbidden:
                throw new ExecutionError(Message(field, FieldAccessDecision.Forbidden)) { Code = ForbiddenCode };
        }
    }

    /// <summary>What a refusal says: the field and what it asks for, never the caller's claims.</summary>
    public static string Message(GraphQLField field, FieldAccessDecision decision) => decision == FieldAccessDecision.Unauthenticated
        ? $"{field.Kind}.{field.Name} requires {field.Options.Auth!.Description}: sign in, or send a valid token."
        : $"{field.Kind}.{field.Name} requires {field.Options.Auth!.Description}.";
}

internal enum FieldAccessDecision
{
    Allowed,
    Unauthenticated,
    Forbidden,
}
