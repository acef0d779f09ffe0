using System.Text;
using AiWebEngine.Errors;
using AiWebEngine.Scripting;
using AiWebEngine.Security;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace AiWebEngine.Routing;

/// <summary>Serves one request through a script's route handler.</summary>
/// <remarks>
/// A failed or timed-out handler is answered with a generic message; the script's own message, URI and
/// line go into <c>details</c> only for the administrator (<see cref="IAdminCallers"/>), because a
/// script's error text can carry anything it was handling. The log has the full error with the request id.
/// </remarks>
internal sealed partial class ScriptRouteHandler(RouteTable table, IAdminCallers admins, IOptions<HttpOptions> options, IOptions<ScriptOptions> scripts, ILogger<ScriptRouteHandler> logger)
{
    private const string DefaultContentType = "text/plain; charset=utf-8";
    private static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    private readonly int _maxBody = options.Value.MaxRequestBodyBytes;
    private readonly bool _exposeCredentials = scripts.Value.ExposeCredentials;

    public async Task HandleAsync(HttpContext context, ScriptRoute route)
    {
        var body = await ScriptRequest.ReadBodyAsync(context, _maxBody);

        if (body is null)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ErrorCodes.PayloadTooLarge,
                $"The request body is larger than {_maxBody} bytes (AiWebEngine:Http:MaxRequestBodyBytes).");
            return;
        }

        var request = await ScriptRequest.ToJsonAsync(context, body, _exposeCredentials);
        ScriptResponse response;
        try
        {
            response = await CallAsync(route, request, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away while the request waited for the script: a normal end, nothing to answer.
            return;
        }
        catch (ScriptBusyException e)
        {
            // Not logged: under a flood that would be one line per refused request; the metrics count them.
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ErrorCodes.ScriptBusy,
                $"The handler of {route.Method} {route.Path.Path} has too many calls waiting; retry later.", Details(context, e),
                retryAfter: BusyRetryAfter);
            return;
        }
        catch (ScriptTimeoutException e)
        {
            ScriptTimedOut(logger, route.Owner, route.Method, route.Path.Path, context.TraceIdentifier, e.Message);
            await ErrorResponse.WriteAsync(context, StatusCodes.Status504GatewayTimeout, ErrorCodes.ScriptTimeout,
                $"The handler of {route.Method} {route.Path.Path} did not finish in time.", Details(context, e));
            return;
        }
        catch (ScriptFailedException e)
        {
            // With the JavaScript stack (a rejected Promise's too): where the script failed, not only what it said.
            ScriptFailed(logger, route.Owner, route.Method, route.Path.Path, context.TraceIdentifier, e.ScriptStack is { } stack ? e.Describe() + Environment.NewLine + stack : e.Describe());
            await ErrorResponse.WriteAsync(context, StatusCodes.Status500InternalServerError, ErrorCodes.ScriptExecutionFailed,
                $"The handler of {route.Method} {route.Path.Path} failed.", Details(context, e));
            return;
        }
        catch (RouteGoneException)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, ErrorCodes.NotFound,
                $"{route.Method} {route.Path.Path} was removed while the request was on its way (its script {route.Owner} was reloaded or unloaded).");
            return;
        }

        await WriteAsync(context, response);
    }

    // The endpoint the router matched may belong to a version of the script that a reload has just
    // replaced: the call goes to whichever version serves the route now, so a reload never fails a request.
    private async Task<ScriptResponse> CallAsync(ScriptRoute matched, string request, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var route = table.Snapshot.TryGetValue(matched.Key, out var current) && current.Owner == matched.Owner ? current : matched;
            if (route.Instance.State == ScriptInstanceState.Retired && route == matched && attempt > 0)
            {
                throw new RouteGoneException();
            }

            try
            {
                return await route.Instance.HandleAsync(route.HandlerRef, request, cancellationToken);
            }
            catch (ObjectDisposedException) when (attempt < 3)
            {
                // Disposed between the lookup and the call: look again.
            }
            catch (ObjectDisposedException)
            {
                throw new RouteGoneException();
            }
        }
    }

    private sealed class RouteGoneException : Exception;

    private Dictionary<string, object?>? Details(HttpContext context, ScriptFailedException e) => admins.IsAdmin(context)
        ? new()
        {
            ["message"] = e.Message,
            ["script"] = e.ScriptUri,
            ["line"] = e.Line,
        }
        : null;

    // The response was checked when the script handed it over (ScriptResponse.TryCreate): a final
    // status, token header names, values without CR/LF/NUL, no framing or hop-by-hop header. The
    // length is the server's, so the body is exactly what the framing says.
    private static async Task WriteAsync(HttpContext context, ScriptResponse response)
    {
        // The script's status is final, even 404 with an empty body: no engine error page over it.
        if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
        {
            pages.Enabled = false;
        }

        var http = context.Response;
        http.StatusCode = response.Status;
        http.ContentType = response.ContentType.Length == 0 ? DefaultContentType : response.ContentType;
        foreach (var (name, value) in response.Headers)
        {
            http.Headers[name] = value;
        }

        if (response.Body.Length == 0 && response.BodyBytes is null or { Length: 0 } && response.Status is StatusCodes.Status204NoContent or StatusCodes.Status205ResetContent or StatusCodes.Status304NotModified)
        {
            return;
        }

        var bytes = response.BodyBytes ?? Encoding.UTF8.GetBytes(response.Body);
        http.ContentLength = bytes.Length;
        await http.Body.WriteAsync(bytes, context.RequestAborted);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Error, Message = "Script {ScriptUri} failed serving {Method} {Path} (request {RequestId}): {Error}")]
    private static partial void ScriptFailed(ILogger logger, string scriptUri, string method, string path, string requestId, string error);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Script {ScriptUri} timed out serving {Method} {Path} (request {RequestId}): {Error}")]
    private static partial void ScriptTimedOut(ILogger logger, string scriptUri, string method, string path, string requestId, string error);
}
