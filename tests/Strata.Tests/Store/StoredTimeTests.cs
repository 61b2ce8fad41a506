namespace Strata.Tests.Store;

/// <summary>Times are stored as text; reading them back takes a fast path for the form the store writes.</summary>
public sealed class StoredTimeTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(638_000_000_000_000_001L)]
    [InlineData(639_999_999_999_999_999L)]
    public void A_written_time_reads_back_exactly_in_UTC(long ticks)
    {
        var time = new DateTimeOffset(ticks, TimeSpan.Zero).AddHours(ticks == 0 ? 1 : 0);
        var read = SqlMetadataStore.ParseTime(SqlMetadataStore.Time(time));
        Assert.Equal(time, read);
        Assert.Equal(TimeSpan.Zero, read.Offset);
    }

    [Fact]
    public void A_time_is_written_in_UTC_with_seven_fraction_digits_so_stored_times_sort_as_text()
    {
        var time = new DateTimeOffset(2026, 11, 28, 22, 44, 53, TimeSpan.FromHours(2)).AddTicks(3_112_110);
        Assert.Equal("2026-11-28T20:44:53.3112110Z", SqlMetadataStore.Time(time));
        Assert.Equal("0001-01-01T00:00:00.0000000Z", SqlMetadataStore.Time(DateTimeOffset.MinValue));
    }

    [Theory]
    [InlineData("2026-11-28T22:44:53.3112111+02:00", "2026-11-28T20:44:53.3112111+00:00")]
    [InlineData("2026-11-28T22:44:53Z", "2026-11-28T22:44:53.0000000+00:00")]
    [InlineData("2026-11-28T22:44:53.3112111", "2026-11-28T22:44:53.3112111+00:00")]
    [InlineData("2026-11-28 22:44:53.311211+00", "2026-11-28T22:44:53.3112110+00:00")]
    public void Other_forms_read_as_UTC_too(string stored, string expected) =>
        Assert.Equal(expected, SqlMetadataStore.ParseTime(stored).ToString("O", System.Globalization.CultureInfo.InvariantCulture));
}
