using System.Security.Cryptography;
using Amazon.S3.Model;
using Strata.Testing;

namespace Strata.Aws.Tests.S3;

/// <summary>
/// The s3 artifact store against a real S3-compatible server: the conformance suite, then what is particular to objects,
/// commit markers and parts. Every test compares the bytes read back with the bytes written: S3-compatible servers can
/// report success while storing something else.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3ArtifactStoreTests(S3Server server) : ArtifactStoreConformance
{
    protected override async Task<ArtifactStore> CreateStoreAsync() => new S3ArtifactStore(await server.NewBucketConfigAsync());

    /// <summary>
    /// s3rver writes a PUT's body and its metadata separately, so two commit markers of one path PUT at the same moment
    /// can be left with one writer's body and the other's hash, which the read then refuses. AWS S3 stores each PUT
    /// whole; the store relies on that.
    /// </summary>
    protected override bool WritersOfOnePathOverlap => false;

    /// <summary>Rewrites the file's object with one byte changed, keeping the hash in its metadata, as a corrupting server would.</summary>
    protected override async Task CorruptByteAsync(ArtifactStore store, string path, string file)
    {
        var s3Store = (S3ArtifactStore)store;
        using var s3 = server.RawClient();
        var key = (await KeysAsync(s3Store, s3Store.KeyOf(path) + "/.strata/")).Single(k => k.EndsWith("/" + file, StringComparison.Ordinal));
        var original = await s3.GetObjectAsync(s3Store.Bucket, key);
        using var bytes = new MemoryStream();
        await original.ResponseStream.CopyToAsync(bytes);
        var changed = bytes.ToArray();
        changed[changed.Length / 2] ^= 0xff;
        var put = new PutObjectRequest { BucketName = s3Store.Bucket, Key = key, InputStream = new MemoryStream(changed), UseChunkEncoding = false };
        put.Metadata[S3ArtifactStore.HashMetadataKey] = original.Metadata[S3ArtifactStore.HashMetadataKey];
        await s3.PutObjectAsync(put);
    }

    /// <summary>A writer killed after uploading leaves a generation of files and no commit marker.</summary>
    protected override async Task LeaveKilledWriterRemainsAsync(ArtifactStore store, string path)
    {
        var s3Store = (S3ArtifactStore)store;
        using var s3 = server.RawClient();
        var orphan = $"{s3Store.KeyOf(path)}/.strata/{Guid.NewGuid():n}/data.bin";
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = s3Store.Bucket, Key = orphan, ContentBody = "half", UseChunkEncoding = false });
    }

    private async Task<S3ArtifactStore> NewStoreAsync(Action<S3ArtifactStoreConfig>? configure = null)
    {
        var config = await server.NewBucketConfigAsync();
        configure?.Invoke(config);
        return new S3ArtifactStore(config);
    }

    private static Func<IArtifactWriter, CancellationToken, Task> Files(params (string Name, byte[] Content)[] files) => async (writer, ct) =>
    {
        foreach (var (name, content) in files)
        {
            await using var stream = writer.CreateFile(name);
            // Odd-sized writes, so part boundaries never line up with write boundaries.
            for (var offset = 0; offset < content.Length; offset += 100_003)
                await stream.WriteAsync(content.AsMemory(offset, Math.Min(100_003, content.Length - offset)), ct);
        }
    };

    private static byte[] Random(int size) => RandomNumberGenerator.GetBytes(size);

    private static async Task<byte[]> ReadAllAsync(IArtifactReader reader, string name)
    {
        await using var stream = reader.OpenFile(name);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static async Task AssertContentAsync(IArtifactReader reader, params (string Name, byte[] Content)[] files)
    {
        Assert.Equal(files.Select(f => f.Name).Order(StringComparer.Ordinal), reader.Files);
        foreach (var (name, content) in files)
        {
            Assert.Equal(content, await ReadAllAsync(reader, name));
            Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(reader.LocalDirectory, name)));
        }
    }

    private async Task<List<string>> KeysAsync(S3ArtifactStore store, string? prefix = null)
    {
        using var s3 = server.RawClient();
        var response = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = store.Bucket, Prefix = prefix });
        return (response.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task A_large_artifact_goes_up_in_parts_and_comes_back_whole()
    {
        var config = await server.NewBucketConfigAsync();
        config.PartSizeMb = 5;
        using var client = S3ClientFactory.Create(config);
        var requests = new System.Collections.Concurrent.ConcurrentBag<Amazon.Runtime.AmazonWebServiceRequest>();
        client.BeforeRequestEvent += (_, e) => { if (e is Amazon.Runtime.WebServiceRequestEventArgs w) requests.Add(w.Request); };
        using var store = new S3ArtifactStore(client, S3ClientFactory.TransferSettings(config), ownsClient: false);
        var big = Random(17 * 1024 * 1024 + 12_345); // > 16 MiB: four parts of 5 MiB, the last one short
        (string, byte[])[] files = [("weights.bin", big), ("config.json", "{\"layers\":3}"u8.ToArray())];

        var content = await store.WriteArtifactAsync("models/big", Files(files));
        await using (var reader = await store.OpenArtifactAsync("models/big"))
            await AssertContentAsync(reader, files);

        Assert.Equal(big.Length + 12, content.Size);
        Assert.Equal(4, requests.OfType<UploadPartRequest>().Count());
        Assert.Single(requests.OfType<CompleteMultipartUploadRequest>());
        var ranges = requests.OfType<GetObjectRequest>().Where(r => r.ByteRange is not null).Select(r => (r.ByteRange.Start, r.ByteRange.End)).Order().ToArray();
        const long part = 5 * 1024 * 1024;
        Assert.Equal([(0, part - 1), (part, 2 * part - 1), (2 * part, 3 * part - 1), (3 * part, big.Length - 1)], ranges);
    }

    [Fact]
    public async Task An_artifact_whose_writer_died_before_the_commit_marker_is_absent()
    {
        var config = await server.NewBucketConfigAsync();
        using var writerStore = new S3ArtifactStore(config);
        using var readerStore = new S3ArtifactStore(config);
        var uploaded = new TaskCompletionSource();
        using var crash = new CancellationTokenSource();
        writerStore.BeforeCommit = async ct =>
        {
            uploaded.SetResult();
            await Task.Delay(Timeout.Infinite, ct); // the writer stops here, files uploaded, marker not written
        };

        var write = writerStore.WriteArtifactAsync("runs/1/out", Files(("data.bin", Random(50_000))), crash.Token);
        await uploaded.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains(await KeysAsync(readerStore), k => k.EndsWith("/data.bin", StringComparison.Ordinal)); // the bytes are there...
        Assert.False(await readerStore.ExistsAsync("runs/1/out"));                                            // ...but no artifact
        await Assert.ThrowsAsync<ArtifactException>(() => readerStore.OpenArtifactAsync("runs/1/out"));

        await crash.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write);
        Assert.Empty(await KeysAsync(readerStore)); // a writer that is stopped (rather than killed) cleans up
    }

    [Fact]
    public async Task A_write_that_fails_publishes_nothing_and_leaves_no_objects()
    {
        using var store = await NewStoreAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.WriteArtifactAsync("runs/1/out", async (writer, ct) =>
        {
            await Files(("a.bin", Random(10)))(writer, ct);
            _ = writer.CreateFile("left-open.txt"); // a stream the callback never closed
            throw new InvalidOperationException("step failed");
        }));

        Assert.False(await store.ExistsAsync("runs/1/out"));
        Assert.Empty(await KeysAsync(store));
    }

    [Fact]
    public async Task A_rewrite_replaces_the_artifact_whole_and_removes_the_old_files()
    {
        using var store = await NewStoreAsync();
        await store.WriteArtifactAsync("out", Files(("old.txt", "old"u8.ToArray())));
        var keysBefore = await KeysAsync(store);

        var fresh = Random(2000);
        await store.WriteArtifactAsync("out", Files(("new.bin", fresh)));

        await using (var reader = await store.OpenArtifactAsync("out"))
            await AssertContentAsync(reader, ("new.bin", fresh));
        var keys = await KeysAsync(store);
        Assert.DoesNotContain(keys, k => k.EndsWith("/old.txt", StringComparison.Ordinal));
        Assert.Equal(2, keys.Count); // the marker and the one file
        Assert.Contains(keysBefore.Single(k => k.EndsWith("commit.json", StringComparison.Ordinal)), keys);
    }

    [Fact]
    public async Task A_tampered_file_is_caught_by_its_hash()
    {
        using var store = await NewStoreAsync();
        await store.WriteArtifactAsync("out", Files(("data.bin", Random(4000)), ("other.txt", "ok"u8.ToArray())));
        using var s3 = server.RawClient();
        var key = (await KeysAsync(store)).Single(k => k.EndsWith("/data.bin", StringComparison.Ordinal));
        var original = await s3.GetObjectMetadataAsync(store.Bucket, key);

        // Replace the bytes but keep the recorded hash in the metadata, as a careless tool or a corrupting server would.
        var tampered = new PutObjectRequest { BucketName = store.Bucket, Key = key, InputStream = new MemoryStream(Random(4000)), UseChunkEncoding = false };
        tampered.Metadata[S3ArtifactStore.HashMetadataKey] = original.Metadata[S3ArtifactStore.HashMetadataKey];
        await s3.PutObjectAsync(tampered);

        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.OpenArtifactAsync("out"));
        Assert.Contains("data.bin", error.Message);
        Assert.Contains("does not match its recorded hash", error.Message);
    }

    [Fact]
    public async Task A_tampered_part_of_a_large_file_is_caught_by_its_hash()
    {
        using var store = await NewStoreAsync(c => c.PartSizeMb = 5);
        var big = Random(11 * 1024 * 1024);
        await store.WriteArtifactAsync("out", Files(("big.bin", big)));
        using var s3 = server.RawClient();
        var key = (await KeysAsync(store)).Single(k => k.EndsWith("/big.bin", StringComparison.Ordinal));
        var original = await s3.GetObjectMetadataAsync(store.Bucket, key);
        big[7 * 1024 * 1024] ^= 0xff; // one flipped byte in the second part
        var tampered = new PutObjectRequest { BucketName = store.Bucket, Key = key, InputStream = new MemoryStream(big), UseChunkEncoding = false };
        tampered.Metadata[S3ArtifactStore.HashMetadataKey] = original.Metadata[S3ArtifactStore.HashMetadataKey];
        await s3.PutObjectAsync(tampered);

        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.OpenArtifactAsync("out"));
        Assert.Contains("does not match its recorded hash", error.Message);
    }

    [Fact]
    public async Task An_object_replaced_without_the_hash_metadata_is_refused()
    {
        using var store = await NewStoreAsync();
        var bytes = Random(100);
        await store.WriteArtifactAsync("out", Files(("data.bin", bytes)));
        using var s3 = server.RawClient();
        var key = (await KeysAsync(store)).Single(k => k.EndsWith("/data.bin", StringComparison.Ordinal));
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = store.Bucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });

        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.OpenArtifactAsync("out"));
        Assert.Contains("(none)", error.Message);
    }

    [Fact]
    public async Task The_sdk_defaults_that_corrupt_objects_on_s3rver_are_caught_on_read()
    {
        // The AWS SDK's defaults for AWS S3 (aws-chunked signed uploads, flexible checksums) make s3rver store the
        // chunk framing as the object's bytes, and report success. The read must catch it.
        using var store = await NewStoreAsync(c =>
        {
            c.DisableChunkedSigning = false;
            c.ChecksumMode = S3ChecksumMode.WhenSupported;
        });
        Assert.True(store.Settings.UseChunkEncoding);
        var bytes = Random(20_000);

        await store.WriteArtifactAsync("out", Files(("data.bin", bytes))); // "succeeds"
        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.OpenArtifactAsync("out"));
        Assert.Contains("does not match its recorded hash", error.Message);
    }

    [Fact]
    public async Task A_tampered_single_file_is_caught_by_its_hash()
    {
        using var store = await NewStoreAsync();
        await store.WriteFileAsync("result.json", "{\"status\":\"ok\"}"u8.ToArray());
        using var s3 = server.RawClient();
        var key = store.KeyOf("result.json");
        var original = await s3.GetObjectMetadataAsync(store.Bucket, key);
        var tampered = new PutObjectRequest { BucketName = store.Bucket, Key = key, ContentBody = "{\"status\":\"ko\"}", UseChunkEncoding = false };
        tampered.Metadata[S3ArtifactStore.HashMetadataKey] = original.Metadata[S3ArtifactStore.HashMetadataKey];
        await s3.PutObjectAsync(tampered);

        await Assert.ThrowsAsync<ArtifactException>(() => store.ReadFileAsync("result.json"));
    }

    [Fact]
    public async Task Deleting_an_artifact_removes_every_object_of_it()
    {
        using var store = await NewStoreAsync();
        await store.WriteArtifactAsync("a", Files(("x.txt", "x"u8.ToArray()), ("d/y.txt", "y"u8.ToArray())));
        await store.WriteFileAsync("f.bin", new byte[] { 1 });
        var keep = Random(10);
        await store.WriteArtifactAsync("b", Files(("keep.bin", keep)));

        await store.DeleteAsync("a");
        await store.DeleteAsync("f.bin");
        await store.DeleteAsync("never-there");

        Assert.False(await store.ExistsAsync("a"));
        Assert.False(await store.ExistsAsync("f.bin"));
        Assert.All(await KeysAsync(store), k => Assert.StartsWith(store.KeyOf("b") + "/", k));
        await using var reader = await store.OpenArtifactAsync("b");
        await AssertContentAsync(reader, ("keep.bin", keep));
    }

    [Fact]
    public async Task The_staging_directory_goes_away_with_the_reader()
    {
        using var store = await NewStoreAsync();
        var bytes = Random(10);
        await store.WriteArtifactAsync("a", Files(("x.bin", bytes)));

        string local;
        await using (var reader = await store.OpenArtifactAsync("a"))
        {
            local = reader.LocalDirectory;
            Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(local, "x.bin")));
            Assert.Throws<ArtifactException>(() => reader.OpenFile("y.bin"));
            Assert.Throws<ArtifactException>(() => reader.OpenFile("../x.bin"));
        }

        Assert.False(Directory.Exists(local));
    }

    [Fact]
    public async Task Refuses_paths_that_reach_into_an_artifacts_own_objects()
    {
        using var store = await NewStoreAsync();

        foreach (var path in new[] { "a/.strata/commit.json", "a/.strata", ".strata/x" })
        {
            await Assert.ThrowsAsync<ArtifactException>(() => store.WriteArtifactAsync(path, Files(("a.txt", "a"u8.ToArray()))));
            await Assert.ThrowsAsync<ArtifactException>(() => store.OpenArtifactAsync(path));
            await Assert.ThrowsAsync<ArtifactException>(() => store.DeleteAsync(path));
            await Assert.ThrowsAsync<ArtifactException>(() => store.WriteFileAsync(path, new byte[] { 1 }));
            await Assert.ThrowsAsync<ArtifactException>(() => store.ReadFileAsync(path));
        }
        Assert.Empty(await KeysAsync(store));
    }

    [Fact]
    public async Task Verifying_an_artifact_reads_its_commit_marker_and_downloads_none_of_its_files()
    {
        var config = await server.NewBucketConfigAsync();
        using var client = S3ClientFactory.Create(config);
        var requests = new System.Collections.Concurrent.ConcurrentBag<Amazon.Runtime.AmazonWebServiceRequest>();
        client.BeforeRequestEvent += (_, e) => { if (e is Amazon.Runtime.WebServiceRequestEventArgs w) requests.Add(w.Request); };
        using var store = new S3ArtifactStore(client, S3ClientFactory.TransferSettings(config), ownsClient: false);
        var content = await store.WriteArtifactAsync("out", Files(("data.bin", Random(100_000))));
        requests.Clear();

        Assert.True(await store.VerifyAsync("out", content.Hash));

        Assert.Equal([store.KeyOf("out") + "/.strata/commit.json"], requests.OfType<GetObjectRequest>().Select(r => r.Key));
    }

    [Fact]
    public async Task Maps_uris_to_paths_and_keys()
    {
        using var store = await NewStoreAsync();

        Assert.True(store.IsRemote);
        Assert.Equal($"s3://{store.Bucket}/artifacts", store.Root);
        Assert.Equal($"s3://{store.Bucket}/artifacts/runs/1/model", store.UriOf("runs/1/model"));
        Assert.Equal("runs/1/model", store.PathOf(store.UriOf("runs/1/model")));
        Assert.Equal("artifacts/runs/1/model", store.KeyOf("runs//1/model/"));
        Assert.Throws<ArtifactException>(() => store.PathOf("s3://other-bucket/artifacts/x"));
    }

    [Fact]
    public async Task A_store_at_the_bucket_root_works()
    {
        var config = await server.NewBucketConfigAsync(prefix: "");
        using var store = new S3ArtifactStore(config);
        var bytes = Random(100);

        await store.WriteArtifactAsync("m", Files(("w.bin", bytes)));

        Assert.Equal($"s3://{store.Bucket}/m", store.UriOf("m"));
        Assert.Equal("m", store.KeyOf("m"));
        await using var reader = await store.OpenArtifactAsync("m");
        await AssertContentAsync(reader, ("w.bin", bytes));
    }

}
