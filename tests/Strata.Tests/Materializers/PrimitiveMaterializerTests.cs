using System.Text;

namespace Strata.Tests.Materializers;

public sealed class PrimitiveMaterializerTests : IDisposable
{
    private readonly ArtifactHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Flags]
    public enum Access { None = 0, Read = 1, Write = 2 }

    public static IEnumerable<object[]> Values() =>
    [
        ["plain", typeof(string)],
        ["", typeof(string)],
        ["héllo wörld ✓ 日本語 𝄞 🚀", typeof(string)],
        ["  leading and trailing spaces\r\nand lines\n\t", typeof(string)],
        [true, typeof(bool)],
        [false, typeof(bool)],
        ['é', typeof(char)],
        [sbyte.MinValue, typeof(sbyte)],
        [byte.MaxValue, typeof(byte)],
        [short.MinValue, typeof(short)],
        [ushort.MaxValue, typeof(ushort)],
        [int.MinValue, typeof(int)],
        [uint.MaxValue, typeof(uint)],
        [long.MinValue, typeof(long)],
        [ulong.MaxValue, typeof(ulong)],
        [Int128.MinValue, typeof(Int128)],
        [UInt128.MaxValue, typeof(UInt128)],
        [Half.MaxValue, typeof(Half)],
        [Half.Epsilon, typeof(Half)],
        [float.MaxValue, typeof(float)],
        [float.Epsilon, typeof(float)],
        [float.NaN, typeof(float)],
        [0.1f, typeof(float)],
        [double.MaxValue, typeof(double)],
        [double.MinValue, typeof(double)],
        [double.Epsilon, typeof(double)],
        [double.NaN, typeof(double)],
        [double.PositiveInfinity, typeof(double)],
        [double.NegativeInfinity, typeof(double)],
        [0.1 + 0.2, typeof(double)],
        [Math.PI, typeof(double)],
        [decimal.MaxValue, typeof(decimal)],
        [decimal.MinValue, typeof(decimal)],
        [0.0000000000000000000000000001m, typeof(decimal)],
        [new DateTime(2024, 2, 29, 23, 59, 59, DateTimeKind.Utc).AddTicks(1234567), typeof(DateTime)],
        [new DateTime(1999, 12, 31, 1, 2, 3, DateTimeKind.Unspecified), typeof(DateTime)],
        [DateTime.MaxValue, typeof(DateTime)],
        [new DateTimeOffset(2024, 6, 1, 12, 30, 0, TimeSpan.FromMinutes(330)).AddTicks(7), typeof(DateTimeOffset)],
        [DateTimeOffset.MinValue, typeof(DateTimeOffset)],
        [TimeSpan.FromTicks(-123456789012345), typeof(TimeSpan)],
        [TimeSpan.MaxValue, typeof(TimeSpan)],
        [Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"), typeof(Guid)],
        [DayOfWeek.Friday, typeof(DayOfWeek)],
        [Access.Read | Access.Write, typeof(Access)],
        [(Access)64, typeof(Access)],
        [42, typeof(int?)],
    ];

    [Theory]
    [MemberData(nameof(Values))]
    public async Task Round_trips_equal_values(object value, Type type)
    {
        var (loaded, name) = await _h.RoundTripAsync(value, type);

        Assert.Equal("strata.primitive", name);
        Assert.Equal(value.GetType(), loaded.GetType());
        Assert.Equal(value, loaded);
    }

    [Fact]
    public async Task Keeps_what_equality_ignores()
    {
        var offset = new DateTimeOffset(2024, 6, 1, 12, 30, 0, TimeSpan.FromHours(-7));
        Assert.Equal(offset.Offset, (await _h.RoundTripAsync(offset, "strata.primitive")).Offset);

        var utc = new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        Assert.Equal(DateTimeKind.Utc, (await _h.RoundTripAsync(utc, "strata.primitive")).Kind);

        Assert.Equal("1.500", (await _h.RoundTripAsync(1.500m, "strata.primitive")).ToString(System.Globalization.CultureInfo.InvariantCulture));

        var negativeZero = await _h.RoundTripAsync(-0.0, "strata.primitive");
        Assert.Equal(BitConverter.DoubleToInt64Bits(-0.0), BitConverter.DoubleToInt64Bits(negativeZero));
    }

    [Theory]
    [InlineData(12345, "12345")]
    [InlineData(-1.5e300, "-1.5E+300")]
    [InlineData(true, "true")]
    [InlineData(DayOfWeek.Monday, "Monday")]
    public async Task Writes_a_readable_invariant_text_file(object value, string expected)
    {
        var (path, _) = await _h.SaveAsync(value, value.GetType());

        Assert.Equal(expected, await File.ReadAllTextAsync(_h.FileOf(path, "value.txt")));
    }

    [Fact]
    public async Task Writes_strings_as_exact_utf8_without_bom()
    {
        var (path, _) = await _h.SaveAsync("π ≈ 3.14", typeof(string));

        Assert.Equal(Encoding.UTF8.GetBytes("π ≈ 3.14"), await File.ReadAllBytesAsync(_h.FileOf(path, "value.txt")));
    }

    [Fact]
    public async Task Refuses_a_lone_surrogate_instead_of_corrupting_it()
    {
        await Assert.ThrowsAsync<ArtifactException>(() => _h.SaveAsync("bad \uD800 text", typeof(string)));
    }

    [Fact]
    public async Task Reports_a_file_that_does_not_parse()
    {
        var (path, name) = await _h.SaveAsync(7, typeof(int));
        await File.WriteAllTextAsync(_h.FileOf(path, "value.txt"), "seven");

        var e = await Assert.ThrowsAsync<ArtifactException>(() => _h.LoadAsync(path, name, typeof(int)));
        Assert.Contains("value.txt", e.Message);
    }
}
