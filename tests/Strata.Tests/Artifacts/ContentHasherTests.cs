using System.IO.Hashing;

namespace Strata.Tests.Artifacts;

public class ContentHasherTests
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task A_file_hashes_the_same_in_small_and_large_writes_sync_or_async(bool async, bool writeAsyncInline)
    {
        var data = new byte[5 * 1024 * 1024 + 123];
        new Random(42).NextBytes(data);
        var expected = Convert.ToHexStringLower(XxHash128.Hash(data));

        foreach (var piece in new[] { 1000, 1 << 20, 3 << 20, data.Length })
        {
            var hasher = new ContentHasher();
            using var sink = new MemoryStream();
            await using (var stream = new HashingWriteStream(sink, "data.bin", hasher, writeAsyncInline))
                for (var offset = 0; offset < data.Length; offset += piece)
                {
                    var part = data.AsMemory(offset, Math.Min(piece, data.Length - offset));
                    if (async) await stream.WriteAsync(part);
                    else stream.Write(part.Span);
                }

            var file = Assert.Single(hasher.Files());
            Assert.Equal("data.bin", file.Name);
            Assert.Equal(expected, Convert.ToHexStringLower(file.Hash));
            Assert.Equal(data.Length, file.Size);
            Assert.Equal(data, sink.ToArray());
        }
    }

    [Fact]
    public void The_content_hash_stays_the_one_stores_already_hold()
    {
        // Over the files sorted by name: each name as UTF-8, a 0 byte and the file's XxHash128, through XxHash128 again.
        var hasher = new ContentHasher();
        hasher.Add("value.txt", XxHash128.Hash("42"u8), 2);
        hasher.Add("meta.json", XxHash128.Hash("{}"u8), 2);
        var reference = new XxHash128();
        foreach (var (name, data) in new[] { ("meta.json", "{}"u8.ToArray()), ("value.txt", "42"u8.ToArray()) })
        {
            reference.Append(System.Text.Encoding.UTF8.GetBytes(name));
            reference.Append([0]);
            reference.Append(XxHash128.Hash(data));
        }

        Assert.Equal(new ArtifactContent(ContentHasher.Prefix + Convert.ToHexStringLower(reference.GetCurrentHash()), 4), hasher.Result());
    }

    [Fact]
    public void Files_come_sorted_by_name_and_a_file_written_again_counts_once()
    {
        var hasher = new ContentHasher();
        hasher.Add("b.txt", [1], 1);
        hasher.Add("a/z.txt", [2], 2);
        hasher.Add("b.txt", [3], 3);

        Assert.Equal(["a/z.txt", "b.txt"], hasher.Files().Select(f => f.Name));
        Assert.Equal(5, hasher.Result().Size);
    }
}
