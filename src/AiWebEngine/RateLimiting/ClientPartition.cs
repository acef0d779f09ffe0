using System.Net;
using System.Net.Sockets;

namespace AiWebEngine.RateLimiting;

/// <summary>Who a rate limit counts a request against: the signed-in user, else the client's address.</summary>
/// <remarks>
/// Invariants: a user's key is <c>user:</c> and the <c>sub</c> claim of an authenticated identity, the
/// same id <c>req.user.id</c> has, so one user's requests from many addresses share one budget; an
/// anonymous key is <c>ip:</c> and the connection's remote address, never a header (forwarded headers
/// are trusted only if the host adds the forwarded-headers middleware, which then sets that address).
/// An IPv6 client is counted by its /64 network, the smallest block one subscriber is usually given,
/// so that walking the addresses of one network does not buy fresh budgets. Loopback gets no exemption.
/// </remarks>
internal static class ClientPartition
{
    private const string UserIdClaim = "sub";

    public static string Of(HttpContext context)
    {
        foreach (var identity in context.User.Identities)
        {
            if (identity.IsAuthenticated && identity.FindFirst(UserIdClaim) is { Value.Length: > 0 } sub)
            {
                return "user:" + sub.Value;
            }
        }

        return "ip:" + Network(context.Connection.RemoteIpAddress);
    }

    /// <summary>The address as counted: IPv4 (also when mapped into IPv6) whole, IPv6 by its /64.</summary>
    internal static string Network(IPAddress? address)
    {
        if (address is null)
        {
            // TestServer and some in-process transports have no address: all such callers share one budget.
            return "none";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
