using System.Text;

namespace AiWebEngine.Diagnostics;

/// <summary>
/// <c>GET /engine/baseline/hello</c>: a plain C# endpoint that answers the same bytes as the
/// benchmark's JavaScript <c>/hello</c> route, so the benchmark can show the stack's ceiling next to
/// the script route. Mapped only when <c>AiWebEngine:Diagnostics:BaselineEndpoint</c> is true.
/// </summary>
internal static class BaselineEndpoint
{
    public const string Path = "/engine/baseline/hello";

    public const string ConfigurationKey = "AiWebEngine:Diagnostics:BaselineEndpoint";

    private static readonly byte[] Body = Encoding.UTF8.GetBytes("Hello, world!");

    public static Task WriteAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = Body.Length;
        return context.Response.Body.WriteAsync(Body, 0, Body.Length, context.RequestAborted);
    }
}
