using System.Runtime.InteropServices;

namespace AiWebEngine.Hosting;

/// <summary>The process's limit on open file descriptors (<c>RLIMIT_NOFILE</c>), which bounds its connections.</summary>
/// <remarks>
/// Every connection, file, pipe, Redis socket and inotify instance takes a descriptor; when they run
/// out, accept, open and inotify all fail at once. On Linux the soft limit is raised to the hard limit
/// (at most <c>/proc/sys/fs/nr_open</c>) once, the first time it is read; elsewhere the limit is
/// unknown and <see cref="Current"/> is <see langword="null"/>.
/// </remarks>
internal static partial class FileDescriptorLimit
{
    private const int RlimitNoFile = 7; // Linux x64 and arm64.
    private const ulong Infinity = ulong.MaxValue; // RLIM_INFINITY
    private static readonly Lazy<(long Soft, long Raised)?> Limit = new(RaiseSoftLimit);

    /// <summary>The soft limit after raising it, or <see langword="null"/> when it cannot be read (not Linux).</summary>
    public static long? Current => Limit.Value?.Raised;

    /// <summary>The soft limit the process started with, or <see langword="null"/>.</summary>
    public static long? AtStart => Limit.Value?.Soft;

    private static (long Soft, long Raised)? RaiseSoftLimit()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var limit = new RLimit();
        if (GetRLimit(RlimitNoFile, ref limit) != 0)
        {
            return null;
        }

        var soft = Clamp(limit.Current);
        // The kernel refuses a soft limit above nr_open, even under an unlimited hard limit.
        var target = Math.Min(limit.Maximum, NrOpen());
        if (target > limit.Current && limit.Current != Infinity)
        {
            var raised = new RLimit { Current = target, Maximum = limit.Maximum };
            if (SetRLimit(RlimitNoFile, ref raised) == 0)
            {
                return (soft, Clamp(target));
            }
        }

        return (soft, soft);
    }

    private static ulong NrOpen()
    {
        try
        {
            return ulong.TryParse(File.ReadAllText("/proc/sys/fs/nr_open").Trim(), out var value) ? value : 1024 * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 1024 * 1024;
        }
    }

    private static long Clamp(ulong value) => value > long.MaxValue ? long.MaxValue : (long)value;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    // DllImport rather than LibraryImport: the generated code of LibraryImport needs unsafe blocks in the project.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetRLimit(int resource, ref RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetRLimit(int resource, ref RLimit limit);
#pragma warning restore SYSLIB1054
}
