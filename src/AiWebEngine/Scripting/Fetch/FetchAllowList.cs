using System.Net;
using System.Net.Sockets;

namespace AiWebEngine.Scripting.Fetch;

/// <summary>
/// <see cref="FetchOptions.AllowedHosts"/>, parsed, and the address rule: which hosts a script may reach,
/// and which addresses they may resolve to.
/// </summary>
/// <remarks>
/// Invariant: an address that is not public (loopback, private, link-local — the cloud metadata service
/// 169.254.169.254 among them —, carrier-grade NAT, multicast, unspecified, or an IPv4-mapped one of these)
/// is reached only for a host the operator listed by name; a wildcard never reaches one.
/// </remarks>
internal sealed class FetchAllowList
{
    private readonly List<(string Host, int? Port, bool Wildcard)> _entries = [];
    private readonly bool _any;

    public FetchAllowList(IEnumerable<string> entries)
    {
        foreach (var raw in entries)
        {
            var entry = raw.Trim().ToLowerInvariant();
            if (entry == "*")
            {
                _any = true;
                continue;
            }

            int? port = null;
            var colon = entry.LastIndexOf(':');
            if (colon > 0 && !entry.EndsWith(']') && int.TryParse(entry[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && entry.Count(c => c == ':') == 1)
            {
                port = p;
                entry = entry[..colon];
            }

            var wildcard = entry.StartsWith("*.", StringComparison.Ordinal);
            _entries.Add((wildcard ? entry[1..] : entry.Trim('[', ']'), port, wildcard));
        }
    }

    public bool IsEmpty => !_any && _entries.Count == 0;

    /// <summary>Whether <paramref name="host"/>:<paramref name="port"/> may be reached, and whether it was listed by name.</summary>
    public (bool Allowed, bool ByName) Match(string host, int port)
    {
        host = host.Trim('[', ']').ToLowerInvariant().TrimEnd('.');
        var wildcard = _any;
        foreach (var (entry, entryPort, isWildcard) in _entries)
        {
            if (entryPort is { } p && p != port)
            {
                continue;
            }

            if (!isWildcard && entry == host)
            {
                return (true, true);
            }

            if (isWildcard && host.EndsWith(entry, StringComparison.Ordinal) && host.Length > entry.Length)
            {
                wildcard = true;
            }
        }

        return (wildcard, false);
    }

    /// <summary>Whether <paramref name="address"/> is on the public internet.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return !(b[0] == 0 || b[0] == 10 || b[0] == 127 || b[0] >= 224
                || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 192 && b[1] == 0 && b[2] == 0)
                || (b[0] == 198 && (b[1] == 18 || b[1] == 19)));
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return !(IPAddress.IsLoopback(address) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal
                || address.IsIPv6Multicast || (b[0] & 0xFE) == 0xFC || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8)
                || (b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B));
        }

        return false;
    }
}
