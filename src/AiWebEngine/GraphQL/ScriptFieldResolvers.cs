using System.Buffers;
using System.Text;
using System.Text.Json;
using AiWebEngine.GraphQL.Subscriptions;
using AiWebEngine.Scripting;
using AiWebEngine.Streaming;
using GraphQL;
using GraphQL.Resolvers;
using GraphQL.Types;

namespace AiWebEngine.GraphQL;

/// <summary>
/// Binds root fields to their script resolvers: <c>resolver(args, context)</c> with
/// <c>context = { fieldName, operationName, headers, user }</c>; subscriptions to their bus topic. A field
/// registered with <c>{ rateLimit: "name" }</c> takes a permit of that policy for the caller before its
/// resolver runs (per query or mutation, per subscribe; never per delivered event).
/// </summary>
/// <remarks>
/// Order per call, all in .NET: the field's <c>auth</c> rule (<see cref="FieldAccess"/>), then its rate
/// limit, then the script. A subscription's connection metadata is its arguments, except the reserved
/// <c>user</c>, which is always the caller's id (absent when anonymous), so that a message sent with
/// filter <c>{ user: "alice" }</c> reaches Alice's subscriptions only. Its <c>filter</c> function runs per
/// event in the event source, which a shared execution has one of per subscriber group.
/// </remarks>
internal sealed class ScriptFieldResolvers(ITopicBus bus, Func<GraphQLFieldKind, string, GraphQLField?> current, RateLimiting.ClientRateLimiter? limits = null, FieldAccess? access = null, ILogger? logger = null)
{
    /// <summary>The key of <see cref="IResolveFieldContext.UserContext"/> under which transports put the caller's rate limit partition.</summary>
    public const string ClientKey = "aiwebengine.client";

    /// <summary>The key of <see cref="IResolveFieldContext.UserContext"/> under which transports put the request headers.</summary>
    public const string HeadersKey = "aiwebengine.headers";

    public IFieldResolver Resolve(GraphQLField field) =>
        new FuncFieldResolver<object?>(async context =>
        {
            await AuthorizeAsync(field, context);
            await LimitAsync(field, context);
            var json = await CallAsync(field, context);
            return GraphQLValues.FromJson(json, context.FieldDefinition.ResolvedType);
        });

    public ISourceStreamResolver Subscribe(GraphQLField field) =>
        new SourceStreamResolver<object?>(async context =>
        {
            // The subscription's arguments are its connection metadata, matched against filters (SPEC §5.3).
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (name, argument) in Arguments(context))
            {
                if (argument.Value is { } value)
                {
                    metadata[name] = value is string text ? text : Json(value);
                }
            }

            metadata.Remove(Streaming.StreamAdmission.UserKey);
            if (Security.ScriptUser.Id(context.User) is { } userId)
            {
                metadata[Streaming.StreamAdmission.UserKey] = userId;
            }

            var role = context.UserContext.TryGetValue(SubscriptionRole.Key, out var asked) ? asked as SubscriptionRole : null;
            if (role is not null)
            {
                role.Honored = true;
            }

            // A shared execution's events (IsFirstEvent false) follow a client execution that passed these.
            if (role is not { IsFirstEvent: false })
            {
                await AuthorizeAsync(field, context);
                await LimitAsync(field, context);
            }

            object? first = null;
            if (role is not { IsFirstEvent: false } && field.ResolverRef is not null && await CallAsync(field, context) is { } json)
            {
                first = GraphQLValues.FromJson(json, context.FieldDefinition.ResolvedType);
            }

            if (role is { IsFirstEvent: true })
            {
                return new FirstEventSource(first);
            }

            var type = context.FieldDefinition.ResolvedType;
            var accept = field.Options.Filter is { } filterRef ? Filter(field, filterRef, ArgumentsJson(context), ContextJson(context)) : null;
            return new SubscriptionSource(bus, GraphQLField.TopicOf(field.Name), metadata, first, message => EventValue(message, type), role?.Subscribed, accept);
        });

    /// <summary>
    /// The subscription's <c>filter(payload, args, context)</c> for one event source: an event is delivered
    /// only when the function returns <c>true</c>. Fails closed: a filter that throws, times out or is busy
    /// delivers nothing of that event (and is logged).
    /// </summary>
    private Func<BusMessage, ValueTask<bool>> Filter(GraphQLField field, string filterRef, string arguments, string request) =>
        async message =>
        {
            var serving = current(field.Kind, field.Name) is { } now && now.Owner == field.Owner ? now : field;
            try
            {
                return await serving.Instance.FilterAsync(serving.Options.Filter ?? filterRef, message.Data, arguments, request, CancellationToken.None);
            }
            catch (Exception e) when (e is ScriptFailedException or ScriptTimeoutException or ScriptBusyException or ObjectDisposedException)
            {
                if (logger is not null)
                {
                    GraphQLLog.FilterFailed(logger, field.Owner, field.Name, e.Message);
                }

                return false;
            }
        };

    // For a String field the event is the data as sent; otherwise the data is JSON, resolved against the selection.
    private static object? EventValue(BusMessage message, IGraphType? type)
    {
        while (type is NonNullGraphType nonNull)
        {
            type = nonNull.ResolvedType;
        }

        if (type is StringGraphType)
        {
            return message.Data;
        }

        try
        {
            return GraphQLValues.FromJson(message.Data, type);
        }
        catch (JsonException)
        {
            return message.Data;
        }
    }

    private async ValueTask AuthorizeAsync(GraphQLField field, IResolveFieldContext context)
    {
        if (access is not null)
        {
            await access.CheckAsync(field, context.User);
        }
        else if (field.Options.Auth is not null)
        {
            // Fail closed: a field that asks for a user is never served without the authorization service.
            throw new ExecutionError($"{field.Kind}.{field.Name} requires {field.Options.Auth.Description}.") { Code = FieldAccess.UnauthenticatedCode };
        }
    }

    /// <summary>Takes a permit of the field's rate limit policy for the caller; over it, a <c>RATE_LIMITED</c> error and no resolver run.</summary>
    private async ValueTask LimitAsync(GraphQLField field, IResolveFieldContext context)
    {
        if (field.RateLimit is not { } name || limits is not { Enabled: true } || limits.Policy(name) is not { } policy)
        {
            return;
        }

        // A caller without a partition (an in-process execution) shares one budget with its kind.
        var client = context.UserContext.TryGetValue(ClientKey, out var key) && key is string text ? text : "none";
        using var lease = await policy.AcquireAsync(client, context.CancellationToken);
        if (!lease.IsAcquired)
        {
            throw new ExecutionError(policy.Message) { Code = "RATE_LIMITED" };
        }
    }

    private async Task<string?> CallAsync(GraphQLField field, IResolveFieldContext context)
    {
        var arguments = ArgumentsJson(context);
        var request = ContextJson(context);
        for (var attempt = 0; ; attempt++)
        {
            // A reload may have replaced the version this schema was built with: call the one that serves now.
            var serving = current(field.Kind, field.Name) is { } now && now.Owner == field.Owner ? now : field;
            try
            {
                return await serving.Instance.ResolveAsync(serving.ResolverRef!, arguments, request, context.CancellationToken);
            }
            catch (ObjectDisposedException) when (attempt < 3)
            {
                // Replaced between lookup and call: look again.
            }
            catch (ObjectDisposedException)
            {
                throw new ExecutionError($"The script {field.Owner} was unloaded while {field.Name} was resolving.") { Code = "SCRIPT_UNLOADED" };
            }
            catch (ScriptBusyException e)
            {
                throw new ExecutionError(e.Message) { Code = "SCRIPT_BUSY" };
            }
            catch (ScriptTimeoutException e)
            {
                throw new ExecutionError(e.Message) { Code = "SCRIPT_TIMEOUT" };
            }
            catch (ScriptFailedException e)
            {
                // The client gets the message; the log gets where it came from too (the JavaScript stack).
                if (logger is not null)
                {
                    GraphQLLog.ResolverFailed(logger, field.Owner, field.Kind + "." + field.Name, e.ScriptStack is { } stack ? e.Describe() + Environment.NewLine + stack : e.Describe());
                }

                throw new ExecutionError(e.Message) { Code = "SCRIPT_EXECUTION_FAILED" };
            }
        }
    }

    private static IEnumerable<KeyValuePair<string, global::GraphQL.Execution.ArgumentValue>> Arguments(IResolveFieldContext context) =>
        context.Arguments ?? Enumerable.Empty<KeyValuePair<string, global::GraphQL.Execution.ArgumentValue>>();

    private static string ArgumentsJson(IResolveFieldContext context)
    {
        if (context.Arguments is not { Count: > 0 } arguments)
        {
            return "{}";
        }

        return WriteJson(arguments, static (json, arguments) =>
        {
            json.WriteStartObject();
            foreach (var (name, argument) in arguments)
            {
                json.WritePropertyName(name);
                GraphQLValues.Write(json, argument.Value);
            }

            json.WriteEndObject();
        });
    }

    private static string ContextJson(IResolveFieldContext context) =>
        WriteJson(context, static (json, context) =>
        {
            json.WriteStartObject();
            json.WriteString("fieldName", context.FieldDefinition.Name);
            if (context.Operation.Name?.StringValue is { } operation)
            {
                json.WriteString("operationName", operation);
            }
            else
            {
                json.WriteNull("operationName");
            }

            json.WriteStartObject("headers");
            if (context.UserContext.TryGetValue(HeadersKey, out var value) && value is IEnumerable<KeyValuePair<string, string>> headers)
            {
                foreach (var (name, text) in headers)
                {
                    json.WriteString(name, text);
                }
            }

            json.WriteEndObject();

            json.WritePropertyName("user");
            Security.ScriptUser.Write(json, context.User);
            json.WriteEndObject();
        });

    // One buffer and writer per thread, reused: the JSON is written and turned into a string at once.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private static string WriteJson<T>(T state, Action<Utf8JsonWriter, T> write)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var json = t_writer ??= new Utf8JsonWriter(buffer);
        buffer.ResetWrittenCount();
        json.Reset(buffer);
        try
        {
            write(json, state);
            json.Flush();
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        finally
        {
            // A large request is not kept alive by the thread.
            if (buffer.Capacity > 64 * 1024)
            {
                t_buffer = null;
                t_writer = null;
            }
        }
    }

    private static string Json(object value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            GraphQLValues.Write(json, value);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
