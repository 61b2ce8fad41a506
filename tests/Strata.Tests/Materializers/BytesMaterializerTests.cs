namespace Strata.Tests.Materializers;

public sealed class BytesMaterializerTests : IDisposable
{
    private readonly ArtifactHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Round_trips_bytes_as_a_raw_file()
    {
        var data = new byte[300_000];
        new Random(7).NextBytes(data);

        var (path, name) = await _h.SaveAsync(data, typeof(byte[]));

        Assert.Equal("strata.bytes", name);
        Assert.Equal(data, await File.ReadAllBytesAsync(_h.FileOf(path, "data.bin")));
        Assert.Equal(data, await _h.LoadAsync(path, name, typeof(byte[])));
    }

    [Fact]
    public async Task Round_trips_an_empty_array()
    {
        Assert.Empty(await _h.RoundTripAsync(Array.Empty<byte>(), "strata.bytes"));
    }
}
