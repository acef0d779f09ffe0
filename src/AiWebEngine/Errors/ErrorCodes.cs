namespace AiWebEngine.Errors;

/// <summary>The <c>error.code</c> values of the engine's JSON errors.</summary>
public static class ErrorCodes
{
    public const string BadRequest = "BAD_REQUEST";
    public const string NotFound = "NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string NotAcceptable = "NOT_ACCEPTABLE";
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    public const string ScriptExecutionFailed = "SCRIPT_EXECUTION_FAILED";
    public const string ScriptTimeout = "SCRIPT_TIMEOUT";
    public const string ScriptBusy = "SCRIPT_BUSY";
    public const string Overloaded = "OVERLOADED";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Forbidden = "FORBIDDEN";
    public const string CrossSiteRequest = "CROSS_SITE_REQUEST";
    public const string TooManyRequests = "TOO_MANY_REQUESTS";
    public const string RateLimited = "RATE_LIMITED";
    public const string ScriptLoadFailed = "SCRIPT_LOAD_FAILED";
    public const string InternalError = "INTERNAL_ERROR";
    public const string IdeNotInstalled = "IDE_NOT_INSTALLED";
    public const string SignInNotConfigured = "SIGN_IN_NOT_CONFIGURED";
    public const string SignInFailed = "SIGN_IN_FAILED";
    public const string InvalidReturnUrl = "INVALID_RETURN_URL";
}
