using System.Globalization;

namespace SseLoad;

/// <summary>What Linux's /proc says about a process and about loopback TCP queues.</summary>
internal static class Proc
{
    /// <summary>utime + stime of <paramref name="pid"/>, in microseconds (/proc/PID/stat fields 14 and 15).</summary>
    public static double CpuMicroseconds(int pid, int clockTicksPerSecond)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may contain spaces; the fields after it start at the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks * 1e6 / clockTicksPerSecond;
    }

    /// <summary>A /proc/PID/status value in KiB (VmRSS, VmHWM, …).</summary>
    public static long StatusKiB(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                var value = line[(key.Length + 1)..].Trim();
                return long.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    /// <summary>Busy and total CPU time of the whole machine (/proc/stat, first line), in clock ticks.</summary>
    public static (long Busy, long Total) MachineTicks()
    {
        using var reader = new StreamReader("/proc/stat");
        var fields = reader.ReadLine()!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long total = 0;
        for (var i = 1; i < Math.Min(fields.Length, 9); i++)
        {
            total += long.Parse(fields[i], CultureInfo.InvariantCulture);
        }

        var idle = long.Parse(fields[4], CultureInfo.InvariantCulture) + long.Parse(fields[5], CultureInfo.InvariantCulture);
        return (total - idle, total);
    }

    public static int Threads(int pid) => (int)StatusKiB(pid, "Threads");

    /// <summary>
    /// Bytes waiting in TCP queues of IPv4 loopback connections to or from <paramref name="port"/>:
    /// the receive queues of the client ends (data the clients have not read yet) and the send
    /// queues of the server ends (data the clients' kernels have not taken yet).
    /// </summary>
    public static (long ClientUnread, long ServerUnsent, int ClientSockets) TcpQueues(int port)
    {
        long clientUnread = 0, serverUnsent = 0;
        var clients = 0;
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        using var reader = new StreamReader("/proc/net/tcp");
        reader.ReadLine();
        while (reader.ReadLine() is { } line)
        {
            // sl local_address rem_address st tx_queue:rx_queue ...
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5 || parts[3] != "01")
            {
                continue;
            }

            var queues = parts[4].Split(':');
            if (parts[2].EndsWith(hexPort, StringComparison.Ordinal))
            {
                clients++;
                clientUnread += long.Parse(queues[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            else if (parts[1].EndsWith(hexPort, StringComparison.Ordinal))
            {
                serverUnsent += long.Parse(queues[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }

        return (clientUnread, serverUnsent, clients);
    }
}
