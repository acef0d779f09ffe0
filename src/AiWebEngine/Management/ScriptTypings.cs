namespace AiWebEngine.Management;

/// <summary><c>GET /engine/types/aiwebengine.d.ts</c>: the script API's TypeScript declarations, as shipped in <c>types/</c>.</summary>
internal static class ScriptTypings
{
    private static readonly byte[] Declarations = Load();

    public static async Task WriteAsync(HttpContext context)
    {
        context.Response.ContentType = "application/typescript; charset=utf-8";
        context.Response.ContentLength = Declarations.Length;
        await context.Response.Body.WriteAsync(Declarations, context.RequestAborted);
    }

    private static byte[] Load()
    {
        using var stream = typeof(ScriptTypings).Assembly.GetManifestResourceStream("AiWebEngine.types.aiwebengine.d.ts")
            ?? throw new System.Diagnostics.UnreachableException("types/aiwebengine.d.ts is an embedded resource of AiWebEngine.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
