using System.ComponentModel.DataAnnotations;

namespace AiWebEngine.Scripting.Storage;

/// <summary>Script storage (<c>storage.*</c>), bound from <c>AiWebEngine:Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "AiWebEngine:Storage";

    /// <summary>Where the SQLite database (<c>storage.db</c>) lives, created on first use; relative to the working directory. Default: <c>data</c>.</summary>
    [Required]
    public string Directory { get; set; } = "data";

    /// <summary>The longest key, in UTF-8 bytes. Default: 1024.</summary>
    [Range(1, 65536)]
    public int MaxKeyBytes { get; set; } = 1024;

    /// <summary>The largest value (its JSON), in UTF-8 bytes. Default: 1 MiB.</summary>
    [Range(16, 64 * 1024 * 1024)]
    public int MaxValueBytes { get; set; } = 1024 * 1024;

    /// <summary>Keys and values of one script together, in UTF-8 bytes. Default: 64 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxBytesPerScript { get; set; } = 64L * 1024 * 1024;

    /// <summary>The most entries one <c>storage.list</c> returns. Default: 1000.</summary>
    [Range(1, 100_000)]
    public int MaxListEntries { get; set; } = 1000;
}
