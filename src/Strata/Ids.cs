namespace Strata;

/// <summary>
/// Record ids: version 7 UUIDs (time-ordered), as <see cref="Guid.CreateVersion7()"/> makes them, with their random bits from
/// <see cref="Random.Shared"/>. A run makes a few per step; <see cref="Guid"/>'s own random bits cost a system call each on
/// Linux (a read of /dev/urandom). Ids need to be unique, not unguessable: 74 random bits per millisecond, from a generator
/// each process seeds from the operating system.
/// </summary>
internal static class Ids
{
    /// <summary>A new id, in the form <c>Guid.ToString()</c> gives.</summary>
    public static string New() => NewGuid().ToString();

    /// <summary>A new id's 32 hex digits (<c>Guid.ToString("n")</c>), e.g. for a temporary file's name.</summary>
    public static string NewHex() => NewGuid().ToString("n");

    private static Guid NewGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes[6..]);
        var milliseconds = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--, milliseconds >>= 8) bytes[i] = (byte)milliseconds;
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // RFC 9562 variant
        return new Guid(bytes, bigEndian: true);
    }
}
