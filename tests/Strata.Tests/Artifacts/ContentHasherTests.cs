using System.IO.Hashing;

namespace Strata.Tests.Artifacts;

public class ContentHasherTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_file_hashes_the_same_in_small_and_large_writes_sync_or_async(bool async)
    {
        var data = new byte[5 * 1024 * 1024 + 123];
        new Random(42).NextBytes(data);
        var expected = Convert.ToHexStringLower(XxHash128.Hash(data));

        foreach (var piece in new[] { 1000, 1 << 20, 3 << 20, data.Length })
        {
            var hasher = new ContentHasher();
            using var sink = new MemoryStream();
            await using (var stream = new HashingWriteStream(sink, "data.bin", hasher))
                for (var offset = 0; offset < data.Length; offset += piece)
                {
                    var part = data.AsMemory(offset, Math.Min(piece, data.Length - offset));
                    if (async) await stream.WriteAsync(part);
                    else stream.Write(part.Span);
                }

            var (hash, size) = hasher.Files()["data.bin"];
            Assert.Equal(expected, Convert.ToHexStringLower(hash));
            Assert.Equal(data.Length, size);
            Assert.Equal(data, sink.ToArray());
        }
    }
}
