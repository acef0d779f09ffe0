using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AiWebEngine.Scripting;

/// <summary>
/// The .NET half of the script's <c>crypto</c>: random bytes and UUIDs from the operating system's CSPRNG,
/// SHA digests and HMACs, and a constant-time comparison (what a webhook signature check needs).
/// </summary>
/// <remarks>
/// Bytes cross the V8 boundary as "binary strings" (one char per byte, 0–255), so the host only ever
/// receives and returns strings. Invariants: every input is validated here, not only by the bootstrap (a
/// script can reach these through nothing else, but the bootstrap's own checks run in the script's realm);
/// a failure is an error message, never an exception into V8; inputs are bounded by <see cref="MaxInputBytes"/>.
/// </remarks>
internal static class ScriptCrypto
{
    /// <summary>The most bytes one digest, HMAC key or comparison operand may have.</summary>
    public const int MaxInputBytes = 16 * 1024 * 1024;

    /// <summary>The most bytes one <c>getRandomValues</c> call fills, as the Web Crypto API says.</summary>
    public const int MaxRandomBytes = 65536;

    private static readonly string[] Algorithms = ["sha1", "sha256", "sha384", "sha512"];

    /// <summary><paramref name="count"/> random bytes as a binary string, or an error.</summary>
    public static (string? Bytes, string? Error) RandomBytes(double count)
    {
        if (count < 0 || count > MaxRandomBytes || count != Math.Floor(count))
        {
            return (null, $"can fill at most {MaxRandomBytes} bytes at once, got {count}");
        }

        var bytes = RandomNumberGenerator.GetBytes((int)count);
        return (Latin1(bytes), null);
    }

    /// <summary>
    /// The digest of the parts (<paramref name="partsJson"/>: a JSON array of strings, each "t…" text sent as
    /// UTF-8 or "b…" a binary string), an HMAC when <paramref name="key"/> (tagged the same way) is given.
    /// </summary>
    public static (string? Bytes, string? Error) Digest(string algorithm, string? key, string partsJson)
    {
        var name = algorithm.ToLowerInvariant().Replace("-", string.Empty, StringComparison.Ordinal);
        if (!Algorithms.Contains(name))
        {
            return (null, $"unknown algorithm '{Cut(algorithm)}'; the algorithms are {string.Join(", ", Algorithms)}");
        }

        string[]? parts;
        try
        {
            parts = JsonSerializer.Deserialize<string[]>(partsJson);
        }
        catch (JsonException)
        {
            parts = null;
        }

        if (parts is null || parts.Any(p => p is null || !IsTagged(p)))
        {
            return (null, "the data could not be read");
        }

        byte[]? keyBytes = null;
        if (key is not null)
        {
            if (!IsTagged(key) || Bytes(key) is not { } k)
            {
                return (null, "the key must be a string or bytes (a Uint8Array or ArrayBuffer)");
            }

            if (k.Length > MaxInputBytes)
            {
                return (null, $"the key is over {MaxInputBytes} bytes");
            }

            keyBytes = k;
        }

        using var hash = keyBytes is null
            ? IncrementalHash.CreateHash(Name(name))
            : IncrementalHash.CreateHMAC(Name(name), keyBytes);
        long total = 0;
        foreach (var part in parts)
        {
            if (Bytes(part) is not { } bytes)
            {
                return (null, "binary data must be bytes 0-255");
            }

            total += bytes.Length;
            if (total > MaxInputBytes)
            {
                return (null, $"the data is over {MaxInputBytes} bytes");
            }

            hash.AppendData(bytes);
        }

        return (Latin1(hash.GetHashAndReset()), null);
    }

    /// <summary>Whether the two (tagged) operands hold the same bytes, in time that depends only on their lengths.</summary>
    public static (bool Equal, string? Error) TimingSafeEqual(string a, string b)
    {
        if (!IsTagged(a) || !IsTagged(b) || Bytes(a) is not { } x || Bytes(b) is not { } y)
        {
            return (false, "both arguments must be strings or bytes (Uint8Array or ArrayBuffer)");
        }

        if (x.Length > MaxInputBytes || y.Length > MaxInputBytes)
        {
            return (false, $"an argument is over {MaxInputBytes} bytes");
        }

        // Different lengths are unequal (Node.js throws instead; a signature of the wrong length is simply wrong).
        return (x.Length == y.Length && CryptographicOperations.FixedTimeEquals(x, y), null);
    }

    private static bool IsTagged(string value) => value.Length > 0 && (value[0] == 't' || value[0] == 'b');

    // "t…": text, as UTF-8 (a lone surrogate becomes U+FFFD, as in Node.js); "b…": one byte per char.
    private static byte[]? Bytes(string tagged)
    {
        if (tagged[0] == 't')
        {
            return Encoding.UTF8.GetBytes(tagged, 1, tagged.Length - 1);
        }

        var bytes = new byte[tagged.Length - 1];
        for (var i = 1; i < tagged.Length; i++)
        {
            if (tagged[i] > 0xFF)
            {
                return null;
            }

            bytes[i - 1] = (byte)tagged[i];
        }

        return bytes;
    }

    private static string Latin1(byte[] bytes) => string.Create(bytes.Length, bytes, static (chars, b) =>
    {
        for (var i = 0; i < b.Length; i++)
        {
            chars[i] = (char)b[i];
        }
    });

    private static HashAlgorithmName Name(string name) => name switch
    {
        "sha1" => HashAlgorithmName.SHA1,
        "sha256" => HashAlgorithmName.SHA256,
        "sha384" => HashAlgorithmName.SHA384,
        _ => HashAlgorithmName.SHA512,
    };

    private static string Cut(string value) => value.Length > 40 ? value[..37] + "..." : value;
}
