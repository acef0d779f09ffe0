using System.Globalization;
using System.Text;
using System.Text.Json;
using AiWebEngine.Errors;
using AiWebEngine.RateLimiting;
using AiWebEngine.Scripting;
using AiWebEngine.Security;
using AiWebEngine.Streaming;
using GraphQL.Types;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL;

/// <summary>
/// <c>GET /graphql/subscription/{name}</c>: the events of subscription <c>name</c> as a plain
/// EventSource stream, each <c>sendSubscriptionMessage</c> payload exactly as sent, with the framing,
/// replay and limits of every stream (SPEC §5.2). The query string is the connection's metadata.
/// </summary>
/// <remarks>
/// Invariant: this path admits a client only as every other transport of the subscription would, in the
/// same order — the field's <c>auth</c> rule (401 / 403), its rate limit policy (429), then its resolver,
/// called with the query string as its arguments and <c>context.user</c>: a resolver that throws refuses
/// the connection (403) and nothing is delivered. Its return value (the first event elsewhere) is not sent
/// here, where there is no selection set to shape it. The reserved <c>user</c> metadata is the caller's id,
/// never the query string's. A subscription with a <c>filter</c> function is not served here (400): its
/// filter runs once per subscriber group of <c>/graphql/sse</c> and WebSocket clients, and a plain stream
/// connection has no group to run it in.
/// </remarks>
internal sealed class SubscriptionStreamEndpoint(
    GraphQLRegistry registry,
    SseEndpoint sse,
    FieldAccess access,
    ClientRateLimiter limits,
    StreamConnectionLimiter connections,
    IOptions<ScriptOptions> scripts,
    ILogger<SubscriptionStreamEndpoint> logger)
{
    public const string Pattern = "/graphql/subscription/{name}";

    public async Task ServeAsync(HttpContext context, string name)
    {
        if (registry.Find(GraphQLFieldKind.Subscription, name) is not { } field)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound,
                $"No subscription '{name}' is registered.");
            return;
        }

        switch (await access.DecideAsync(field, context.User))
        {
            case FieldAccessDecision.Unauthenticated:
                await AccessRefusals.ChallengeAsync(context);
                await ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized,
                    $"{FieldAccess.Message(field, FieldAccessDecision.Unauthenticated)} ({await AccessRefusals.ProblemAsync(context)})");
                return;
            case FieldAccessDecision.Forbidden:
                await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, FieldAccess.Message(field, FieldAccessDecision.Forbidden));
                return;
        }

        if (field.Options.Filter is not null)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest,
                $"Subscription {name} filters its events per subscriber; open it over /graphql/sse or a GraphQL WebSocket instead of /graphql/subscription/{name}.");
            return;
        }

        if (field.RateLimit is { } policyName && limits is { Enabled: true } && limits.Policy(policyName) is { } policy)
        {
            using var lease = await policy.AcquireAsync(ClientPartition.Of(context), context.RequestAborted);
            if (!lease.IsAcquired)
            {
                await ErrorResponse.WriteAsync(context, StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, policy.Message, retryAfter: policy.RetryAfter(lease));
                return;
            }
        }

        // A full server refuses before any script runs (the slot itself is taken when the stream starts).
        if (connections.Open >= connections.Max)
        {
            await connections.RefuseAsync(context);
            return;
        }

        if (field.ResolverRef is not null && !await AdmittedByResolverAsync(context, field))
        {
            return;
        }

        await sse.ServeAsync(context, GraphQLField.TopicOf(name), StreamEndpoint.WithUser(SseEndpoint.Metadata(context.Request.Query), context));
    }

    /// <summary>Calls the resolver as the other transports do at subscribe; answers the request when it refuses.</summary>
    private async Task<bool> AdmittedByResolverAsync(HttpContext context, GraphQLField field)
    {
        var definition = registry.Current.Subscription?.GetField(field.Name);
        if (!TryArguments(context.Request.Query, definition, out var arguments, out var problem))
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, problem!);
            return false;
        }

        try
        {
            await field.Instance.ResolveAsync(field.ResolverRef!, arguments, ContextJson(context, field.Name), context.RequestAborted);
            return true;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return false;
        }
        catch (ScriptBusyException e)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.ScriptBusy, e.Message, retryAfter: TimeSpan.FromSeconds(1));
            return false;
        }
        catch (Exception e) when (e is ScriptFailedException or ScriptTimeoutException or ObjectDisposedException)
        {
            GraphQLLog.EventSourceRefused(logger, field.Owner, field.Name, context.TraceIdentifier, e.Message);
            await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, ErrorCodes.Forbidden,
                $"Subscription {field.Name} refused the connection: its resolver failed.");
            return false;
        }
    }

    /// <summary>
    /// The query string as the field's arguments, each value read as its argument's type (Int, Float and
    /// Boolean parsed, lists and input objects as JSON, the rest as text); names that are no argument stay
    /// metadata only.
    /// </summary>
    private static bool TryArguments(IQueryCollection query, FieldType? definition, out string json, out string? problem)
    {
        json = "{}";
        problem = null;
        if (definition?.Arguments is not { Count: > 0 } declared)
        {
            return true;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var argument in declared)
            {
                if (!query.TryGetValue(argument.Name, out var values) || values.ToString() is not { } text)
                {
                    continue;
                }

                var type = argument.ResolvedType;
                while (type is NonNullGraphType nonNull)
                {
                    type = nonNull.ResolvedType;
                }

                writer.WritePropertyName(argument.Name);
                switch (type)
                {
                    case IntGraphType when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer):
                        writer.WriteNumberValue(integer);
                        break;
                    case FloatGraphType when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number):
                        writer.WriteNumberValue(number);
                        break;
                    case BooleanGraphType when text is "true" or "false":
                        writer.WriteBooleanValue(text == "true");
                        break;
                    case IntGraphType or FloatGraphType or BooleanGraphType:
                        problem = $"The argument {argument.Name} must be {type.Name}; got '{Cut(text)}'.";
                        return false;
                    case ListGraphType or IInputObjectGraphType:
                        try
                        {
                            using var parsed = JsonDocument.Parse(text);
                            parsed.RootElement.WriteTo(writer);
                        }
                        catch (JsonException)
                        {
                            problem = $"The argument {argument.Name} must be JSON ({type.Name}).";
                            return false;
                        }

                        break;
                    default:
                        writer.WriteStringValue(text);
                        break;
                }
            }

            writer.WriteEndObject();
        }

        json = Encoding.UTF8.GetString(buffer.ToArray());
        return true;
    }

    private static string Cut(string text) => text.Length <= 100 ? text : text[..100] + "…";

    // As ScriptFieldResolvers gives it on the other transports, without the credential headers unless opted in.
    private string ContextJson(HttpContext context, string fieldName)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("fieldName", fieldName);
            json.WriteNull("operationName");
            json.WriteStartObject("headers");
            foreach (var (header, value) in context.Request.Headers)
            {
                if (scripts.Value.ExposeCredentials || !Credentials.IsCredentialHeader(header))
                {
                    json.WriteString(header.ToLowerInvariant(), value.ToString());
                }
            }

            json.WriteEndObject();
            json.WritePropertyName("user");
            ScriptUser.Write(json, context.User);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
