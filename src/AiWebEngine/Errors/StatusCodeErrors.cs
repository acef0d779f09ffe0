using Microsoft.AspNetCore.Diagnostics;

namespace AiWebEngine.Errors;

/// <summary>
/// Turns the framework's empty error responses (no route: 404; wrong method: 405 with <c>Allow</c>;
/// a bad request Kestrel rejected) into the engine's JSON errors. Responses that have a body, such
/// as a script's own 404, are left alone.
/// </summary>
internal static class StatusCodeErrors
{
    public static Task WriteAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var target = $"{http.Request.Method} {http.Request.Path}";
        return status switch
        {
            StatusCodes.Status404NotFound =>
                ErrorResponse.WriteAsync(http, status, ErrorCodes.NotFound, $"Nothing is registered at {http.Request.Path}."),
            StatusCodes.Status405MethodNotAllowed =>
                ErrorResponse.WriteAsync(http, status, ErrorCodes.MethodNotAllowed, $"{target} is not allowed; {http.Request.Path} allows {http.Response.Headers.Allow}."),
            StatusCodes.Status413PayloadTooLarge =>
                ErrorResponse.WriteAsync(http, status, ErrorCodes.PayloadTooLarge, "The request body is larger than the server accepts."),
            >= 400 and < 500 =>
                ErrorResponse.WriteAsync(http, status, ErrorCodes.BadRequest, $"The request {target} was rejected ({status})."),
            _ =>
                ErrorResponse.WriteAsync(http, status, ErrorCodes.InternalError, $"The request {target} failed ({status})."),
        };
    }
}
