namespace Strata;

/// <summary>
/// Record ids: version 7 UUIDs (time-ordered), as <see cref="Guid.CreateVersion7()"/> makes them, with their random bits from
/// <see cref="Random.Shared"/>. A run makes a few per step; <see cref="Guid"/>'s own random bits cost a system call each on
/// Linux (a read of /dev/urandom). Ids need to be unique, not unguessable: 74 random bits per millisecond, from a generator
/// each process seeds from the operating system.
/// </summary>
internal static class Ids
{
    /// <summary>A new id, in the form <c>Guid.ToString()</c> gives (8-4-4-4-12 lowercase hex digits).</summary>
    public static string New()
    {
        Span<byte> bytes = stackalloc byte[16];
        Fill(bytes);
        Span<char> text = stackalloc char[36];
        Hex.Write(bytes[..4], text);
        text[8] = '-';
        Hex.Write(bytes[4..6], text[9..]);
        text[13] = '-';
        Hex.Write(bytes[6..8], text[14..]);
        text[18] = '-';
        Hex.Write(bytes[8..10], text[19..]);
        text[23] = '-';
        Hex.Write(bytes[10..], text[24..]);
        return new string(text);
    }

    /// <summary>A new id's 32 hex digits (<c>Guid.ToString("n")</c>), e.g. for a temporary file's name.</summary>
    public static string NewHex()
    {
        Span<byte> bytes = stackalloc byte[16];
        Fill(bytes);
        return Hex.Lower(bytes);
    }

    /// <summary>The id's 16 bytes, big-endian, as <see cref="Guid.CreateVersion7()"/> lays them out.</summary>
    private static void Fill(Span<byte> bytes)
    {
        Random.Shared.NextBytes(bytes[6..]);
        var milliseconds = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--, milliseconds >>= 8) bytes[i] = (byte)milliseconds;
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // RFC 9562 variant
    }
}
