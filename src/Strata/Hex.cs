namespace Strata;

/// <summary>
/// Bytes as lowercase hex digits, for hashes and ids. A plain loop rather than <see cref="Convert.ToHexStringLower(byte[])"/> or
/// <see cref="Guid.ToString()"/>: the runtime compiles their vectorised code afresh in every process before its first use, 1–2 ms
/// of a step process's start, for strings of 32 digits.
/// </summary>
internal static class Hex
{
    private const string Digits = "0123456789abcdef";

    /// <summary><paramref name="prefix"/> followed by the digits of <paramref name="bytes"/>.</summary>
    public static string Lower(ReadOnlySpan<byte> bytes, string prefix = "")
    {
        var length = prefix.Length + bytes.Length * 2;
        Span<char> chars = length <= 256 ? stackalloc char[length] : new char[length];
        prefix.CopyTo(chars);
        Write(bytes, chars[prefix.Length..]);
        return new string(chars);
    }

    /// <summary>The digits of <paramref name="bytes"/> into <paramref name="chars"/>, two per byte.</summary>
    public static void Write(ReadOnlySpan<byte> bytes, Span<char> chars)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = Digits[bytes[i] >> 4];
            chars[2 * i + 1] = Digits[bytes[i] & 0xF];
        }
    }
}
