using System.Security.Cryptography;
using Strata.Testing;
using static Strata.Tests.Support.ArtifactFiles;

namespace Strata.Gcp.Tests;

/// <summary>The gcs artifact store against the GCS JSON API emulator: the conformance suite, then faults and what is particular to GCS.</summary>
[Collection(GcsCollection.Name)]
public sealed class GcsArtifactStoreTests(GcsServer server) : ArtifactStoreConformance
{
    protected override Task<ArtifactStore> CreateStoreAsync() => Task.FromResult<ArtifactStore>(new GcsArtifactStore(server.NewBucketConfig()));

    /// <summary>Rewrites the file's object with one byte changed, keeping the hash in its metadata, as a corrupting server would.</summary>
    protected override Task CorruptByteAsync(ArtifactStore store, string path, string file)
    {
        var gcs = (GcsArtifactStore)store;
        var name = server.Emulator.ObjectNames(gcs.Bucket, gcs.KeyOf(path))
            .Single(n => n == gcs.KeyOf(path) || (n.Contains("/.strata/", StringComparison.Ordinal) && n.EndsWith("/" + file, StringComparison.Ordinal)));
        var changed = server.Emulator.ObjectContent(gcs.Bucket, name)!.ToArray();
        changed[changed.Length / 2] ^= 0xff;
        Assert.True(server.Emulator.ReplaceContent(gcs.Bucket, name, changed));
        return Task.CompletedTask;
    }

    /// <summary>A writer killed after uploading leaves a generation of files and no commit marker.</summary>
    protected override async Task LeaveKilledWriterRemainsAsync(ArtifactStore store, string path)
    {
        var gcs = (GcsArtifactStore)store;
        using var client = await new Google.Cloud.Storage.V1.StorageClientBuilder
        {
            BaseUri = server.Emulator.Endpoint + "storage/v1/",
            UnauthenticatedAccess = true,
        }.BuildAsync();
        var orphan = $"{gcs.KeyOf(path)}/.strata/{Guid.NewGuid():n}/data.bin";
        await client.UploadObjectAsync(gcs.Bucket, orphan, "application/octet-stream", new MemoryStream("half"u8.ToArray()));
    }

    protected override int LargeFileBytes => 24 << 20;

    [Fact]
    public async Task Files_larger_than_a_part_upload_in_chunks_and_download_in_ranges_byte_for_byte()
    {
        var big = RandomNumberGenerator.GetBytes((3 << 20) + 12345);
        var before = server.Emulator.Requests.Count;

        var content = await Store.WriteArtifactAsync("big", Files(("a.bin", big), ("b.txt", "small"u8.ToArray())));
        await using var reader = await Store.OpenArtifactAsync("big");

        Assert.Equal(big, await ReadAllAsync(reader, "a.bin"));
        var requests = server.Emulator.Requests.Skip(before).ToArray();
        Assert.True(requests.Count(r => r.Operation == "objects.insert/resumable-data") >= 4, "a 3 MiB file in 1 MiB chunks takes four PUTs");
        Assert.True(requests.Count(r => r.Operation == "objects.get/media" && r.Status == 206) >= 4, "and four ranged GETs");
        Assert.StartsWith(ContentHasher.Prefix, content.Hash, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_layout_is_a_commit_marker_beside_one_generation_of_files_each_carrying_its_hash()
    {
        var store = (GcsArtifactStore)Store;
        await store.WriteArtifactAsync("runs/1/model", Files(("w.bin", [1, 2, 3])));
        await store.WriteArtifactAsync("runs/1/model", Files(("w.bin", [4, 5, 6])));

        var names = server.Emulator.ObjectNames(store.Bucket, "lake/runs/1/model/");
        Assert.Equal(2, names.Count); // the replaced generation is gone
        Assert.Contains("lake/runs/1/model/.strata/commit.json", names);
        var file = names.Single(n => n.EndsWith("/w.bin", StringComparison.Ordinal));
        Assert.Equal([4, 5, 6], server.Emulator.ObjectContent(store.Bucket, file));
        Assert.StartsWith(ContentHasher.Prefix, server.Emulator.ObjectMetadata(store.Bucket, file)![GcsArtifactStore.HashMetadataKey], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_third_of_requests_throttled_still_writes_and_reads_every_artifact()
    {
        var files = Enumerable.Range(0, 4).Select(i => ($"f{i}.bin", RandomNumberGenerator.GetBytes(50_000 + i))).ToArray();
        var big = RandomNumberGenerator.GetBytes((2 << 20) + 7);
        var before = server.Emulator.Requests.Count;
        server.Emulator.ThrottleRate = 0.3;
        try
        {
            var content = await Store.WriteArtifactAsync("throttled", Files([.. files, ("big.bin", big)]));
            await Store.WriteFileAsync("throttled-file", "plain"u8.ToArray());
            var read = await Store.ReadArtifactAsync("throttled", content.Hash, async (reader, _) =>
            {
                foreach (var (name, bytes) in files) Assert.Equal(bytes, await ReadAllAsync(reader, name));
                Assert.Equal(big, await ReadAllAsync(reader, "big.bin"));
                return true;
            });
            Assert.True(read);
            Assert.Equal("plain"u8.ToArray(), await Store.ReadFileAsync("throttled-file"));
            Assert.True(await Store.VerifyAsync("throttled", content.Hash));
        }
        finally
        {
            server.Emulator.ThrottleRate = 0;
        }
        var requests = server.Emulator.Requests.Skip(before).ToArray();
        Assert.Contains(requests, r => r.Status == 429);
    }

    [Fact]
    public async Task Service_unavailable_answers_are_retried_too()
    {
        server.Emulator.ServerErrorRate = 0.3;
        try
        {
            var content = await Store.WriteArtifactAsync("unavailable", Files(("a.bin", [9, 9, 9])));
            Assert.True(await Store.VerifyAsync("unavailable", content.Hash));
            await using var reader = await Store.OpenArtifactAsync("unavailable");
            Assert.Equal([9, 9, 9], await ReadAllAsync(reader, "a.bin"));
        }
        finally
        {
            server.Emulator.ServerErrorRate = 0;
        }
    }

    [Theory]
    [InlineData("../outside")]
    [InlineData("a/../../b")]
    [InlineData("/abs")]
    [InlineData("a/.strata/commit.json")]
    public async Task A_path_that_escapes_the_root_or_uses_the_reserved_segment_is_refused_before_any_request(string path)
    {
        var before = server.Emulator.Requests.Count;

        var error = await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteFileAsync(path, "x"u8.ToArray()));

        Assert.Contains($"'{path}'", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, server.Emulator.Requests.Count);
    }
}
