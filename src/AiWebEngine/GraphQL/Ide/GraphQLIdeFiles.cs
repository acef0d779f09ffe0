using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace AiWebEngine.GraphQL.Ide;

/// <summary>The IDE's files on disk (the build copies them to <c>ide/</c> next to the binary).</summary>
/// <remarks>
/// The directory may be missing (a build that skipped <c>npm ci</c>) or appear later; the provider is
/// created on first use once it exists, so the server starts either way and the page answers 503 meanwhile.
/// </remarks>
internal sealed class GraphQLIdeFiles(IOptions<GraphQLIdeOptions> options) : IDisposable
{
    public const string IndexFile = "index.html";

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();
    private readonly Lock _gate = new();
    private PhysicalFileProvider? _provider;

    /// <summary>The full path of the IDE's directory.</summary>
    public string Root { get; } = Path.GetFullPath(options.Value.FilesPath, AppContext.BaseDirectory);

    /// <summary>
    /// The file at <paramref name="subpath"/> (relative to <see cref="Root"/>), or null when it does not
    /// exist. The provider refuses paths that leave the directory and hidden or dot files.
    /// </summary>
    public IFileInfo? Find(string subpath)
    {
        var provider = GetProvider();
        var file = provider?.GetFileInfo(subpath);
        return file is { Exists: true, IsDirectory: false, PhysicalPath: not null } ? file : null;
    }

    /// <summary>The <c>Content-Type</c> of <paramref name="fileName"/>, or null for a type we do not serve.</summary>
    public static string? ContentTypeOf(string fileName) =>
        ContentTypes.TryGetContentType(fileName, out var type) ? type : null;

    public void Dispose() => _provider?.Dispose();

    private PhysicalFileProvider? GetProvider()
    {
        if (_provider is not null)
        {
            return _provider;
        }

        lock (_gate)
        {
            if (_provider is null && Directory.Exists(Root))
            {
                _provider = new PhysicalFileProvider(Root);
            }

            return _provider;
        }
    }
}
