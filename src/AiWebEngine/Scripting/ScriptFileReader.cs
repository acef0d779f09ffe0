using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace AiWebEngine.Scripting;

/// <summary>
/// Reads a script file without trusting what the name points to: only a regular file, and at most
/// one byte more than the source limit.
/// </summary>
/// <remarks>
/// A <c>*.js</c> name can be a named pipe (opening it waits for a writer, forever) or a link to an
/// endless device such as <c>/dev/zero</c> (reading it never ends, until memory does). On Linux and
/// macOS the file is opened with <c>O_NONBLOCK</c>, so a pipe opens at once and is recognised by
/// not being seekable; every read stops after the limit.
/// </remarks>
internal static class ScriptFileReader
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>The file's text, or why it cannot be a script (a sentence for the log and <c>/health</c>).</summary>
    /// <exception cref="FileNotFoundException">The file is gone.</exception>
    /// <exception cref="IOException">Reading failed (possibly for a moment: the caller may retry).</exception>
    public static async Task<(string? Source, string? Error)> ReadAsync(string path, int maxBytes, CancellationToken cancellationToken)
    {
        using var handle = Open(path);
        await using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
        if (!stream.CanSeek)
        {
            return (null, "the file is not a regular file (a named pipe, socket or terminal); only regular files are loaded as scripts");
        }

        if (stream.Length > maxBytes)
        {
            return (null, $"the script is {stream.Length} bytes; the limit is {maxBytes} bytes (AiWebEngine:Scripts:MaxSourceBytes)");
        }

        var buffer = new byte[Math.Min(maxBytes + 1L, Math.Max(stream.Length + 1, 4096))];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (length > maxBytes)
                {
                    // A device that does not end (its size says 0): stopped at the limit.
                    return (null, $"the file reads as more than {maxBytes} bytes, the limit (AiWebEngine:Scripts:MaxSourceBytes)");
                }

                Array.Resize(ref buffer, (int)Math.Min(maxBytes + 1L, buffer.Length * 2L));
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        // A byte-order mark is not part of the source (File.ReadAllText drops it too).
        var start = length >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0;
        return (Utf8.GetString(buffer, start, length - start), null);
    }

    private static SafeFileHandle Open(string path)
    {
        var nonBlocking = OperatingSystem.IsLinux() ? 0x800 : OperatingSystem.IsMacOS() ? 0x4 : 0;
        if (nonBlocking == 0)
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }

        var closeOnExec = OperatingSystem.IsLinux() ? 0x80000 : 0x1000000;
        var fd = OpenNative(path, nonBlocking | closeOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            // ENOENT is 2 on both.
            throw errno == 2
                ? new FileNotFoundException($"{path} does not exist", path)
                : new IOException($"open({path}) failed: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    // DllImport rather than LibraryImport: the generated code of LibraryImport needs unsafe blocks in the project.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int OpenNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
#pragma warning restore SYSLIB1054
}
