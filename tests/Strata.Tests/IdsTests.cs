namespace Strata.Tests;

public sealed class IdsTests
{
    [Fact]
    public void An_id_is_a_version_7_uuid_stamped_with_the_current_millisecond()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var text = Ids.New();
        var id = Guid.Parse(text);
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.Equal(id.ToString(), text);
        var hex = Ids.NewHex();
        Assert.Equal(Guid.ParseExact(hex, "n").ToString("n"), hex);
        Assert.Equal(7, Guid.ParseExact(hex, "n").Version);

        Assert.Equal(7, id.Version);
        Assert.Equal(0b10, id.Variant >> 2); // RFC 9562 variant: the top two bits 10
        var stamped = Convert.ToInt64(id.ToString("n")[..12], 16);
        Assert.InRange(stamped, before, after);
    }

    [Fact]
    public void Ids_are_unique_and_ordered_by_the_millisecond_they_were_made_in()
    {
        var ids = Enumerable.Range(0, 100_000).Select(_ => Ids.New()).ToArray();

        Assert.Equal(ids.Length, ids.Distinct().Count());
        var stamps = ids.Select(i => i.Replace("-", "", StringComparison.Ordinal)[..12]).ToArray();
        Assert.Equal(stamps.Order(StringComparer.Ordinal), stamps);
        Assert.Matches("^[0-9a-f]{32}$", Ids.NewHex());
    }

    [Fact]
    public void Hex_digits_are_those_the_framework_writes()
    {
        var bytes = new byte[300];
        new Random(7).NextBytes(bytes);
        for (var n = 0; n <= bytes.Length; n += 37)
            Assert.Equal("h:" + Convert.ToHexStringLower(bytes.AsSpan(0, n)), Hex.Lower(bytes.AsSpan(0, n), "h:"));
        Assert.Equal("00ff10ab", Hex.Lower([0x00, 0xff, 0x10, 0xab]));
    }
}
