using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text;
using Xunit;

namespace Strata.Testing;

/// <summary>
/// The contract every artifact store keeps, as xunit tests: derive a test class from this one, supply the store under
/// test and two hooks, and every case runs against your store.
/// </summary>
/// <remarks>
/// <code>
/// public sealed class MyStoreTests : ArtifactStoreConformance
/// {
///     protected override Task&lt;ArtifactStore&gt; CreateStoreAsync() =&gt; Task.FromResult&lt;ArtifactStore&gt;(new MyStore(NewEmptyRoot()));
///     protected override Task CorruptByteAsync(ArtifactStore store, string path, string file) =&gt; ...;   // behind the store's back
///     protected override Task LeaveKilledWriterRemainsAsync(ArtifactStore store, string path) =&gt; ...; // what a killed writer leaves
/// }
/// </code>
/// <para>Each case gets a store of its own from <see cref="CreateStoreAsync"/>, over an empty root; a store that is
/// disposable is disposed after the case. The cases: atomic publication (a writer that fails, is paused or was killed
/// half way leaves nothing that reads as whole; two writers of one path leave one whole artifact), paths that would
/// leave the root, a large file, changed bytes found on read (<see cref="ArtifactStore.ReadArtifactAsync{T}"/>),
/// <see cref="ArtifactStore.VerifyAsync"/>, missing artifacts, plain files and deletion. Every case carries the trait
/// <see cref="ConformanceTraits.Category"/> = <see cref="ConformanceTraits.Conformance"/>.</para>
/// </remarks>
public abstract class ArtifactStoreConformance : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private ArtifactStore? _store;

    /// <summary>The store under test in the current case.</summary>
    protected ArtifactStore Store => _store ?? throw new InvalidOperationException("The store is created before each case runs.");

    /// <summary>A new store over an empty root (a fresh directory, a fresh bucket or prefix).</summary>
    protected abstract Task<ArtifactStore> CreateStoreAsync();

    /// <summary>
    /// Changes one byte of the file <paramref name="file"/> of the artifact at <paramref name="path"/> where
    /// <paramref name="store"/> keeps it, behind the store's back, as a failing disk or a stray edit would. The length
    /// stays the same. <paramref name="path"/> may also be a path from <see cref="ArtifactStore.SingleFilePathOf"/>.
    /// </summary>
    protected abstract Task CorruptByteAsync(ArtifactStore store, string path, string file);

    /// <summary>
    /// Leaves in <paramref name="store"/> what a writer of the artifact at <paramref name="path"/> leaves when its process
    /// is killed half way through the write: whatever the store has put down by then (partly written files, uploaded
    /// parts), with no chance to clean up.
    /// </summary>
    protected abstract Task LeaveKilledWriterRemainsAsync(ArtifactStore store, string path);

    /// <summary>The size of the file in the large-file case. <value>Default: 64 MiB.</value></summary>
    protected virtual int LargeFileBytes => 64 << 20;

    /// <summary>
    /// Whether the case of two writers of one path runs them at the same time (the default) or one after the other.
    /// Turn it off only when the server under test, not the store, cannot take two writes of one object at once (an
    /// emulator that stores a request's body and metadata separately), and say so where you do.
    /// </summary>
    protected virtual bool WritersOfOnePathOverlap => true;

    public virtual async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable store:
                await store.DisposeAsync();
                break;
            case IDisposable store:
                store.Dispose();
                break;
        }
    }

    // ---- writing and reading ----

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task An_artifact_reads_back_byte_for_byte_with_the_hash_and_size_written()
    {
        (string, byte[])[] files = [("model.bin", Random(300_000)), ("nested/dir/notes.txt", Text("héllo")), ("empty", [])];

        var content = await Store.WriteArtifactAsync("runs/1/model", Write(files));

        Assert.Equal(HashOf(files), content.Hash);
        Assert.Equal(300_000 + 6, content.Size);
        Assert.True(await Store.ExistsAsync("runs/1/model"));
        await using (var reader = await Store.OpenArtifactAsync("runs/1/model"))
            await AssertHoldsAsync(reader, files);
        await AssertReadsAsync("runs/1/model", content.Hash, files);
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task The_content_hash_depends_on_file_names_and_bytes_only()
    {
        var a = await Store.WriteArtifactAsync("a", Write(("x.txt", Text("same")), ("y.txt", Text("also"))));
        var b = await Store.WriteArtifactAsync("b", Write(("y.txt", Text("also")), ("x.txt", Text("same"))));
        var otherBytes = await Store.WriteArtifactAsync("c", Write(("x.txt", Text("same!")), ("y.txt", Text("also"))));
        var otherName = await Store.WriteArtifactAsync("d", Write(("z.txt", Text("same")), ("y.txt", Text("also"))));

        Assert.StartsWith(ContentHasher.Prefix, a.Hash, StringComparison.Ordinal);
        Assert.Equal(a.Hash, b.Hash);
        Assert.NotEqual(a.Hash, otherBytes.Hash);
        Assert.NotEqual(a.Hash, otherName.Hash);
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_large_file_round_trips_byte_for_byte_with_its_hash()
    {
        var data = Random(LargeFileBytes);

        var content = await Store.WriteArtifactAsync("large", async (writer, ct) =>
        {
            await using var stream = writer.CreateFile("data.bin");
            for (var offset = 0; offset < data.Length; offset += 1_000_003) // pieces that never line up with a part or buffer size
                await stream.WriteAsync(data.AsMemory(offset, Math.Min(1_000_003, data.Length - offset)), ct);
        });

        Assert.Equal(HashOf(("data.bin", data)), content.Hash);
        Assert.Equal(data.Length, content.Size);
        await Store.ReadArtifactAsync("large", content.Hash, async (reader, ct) =>
        {
            await using var stream = reader.OpenFile("data.bin");
            var buffer = new byte[1 << 20];
            var offset = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, ct)) > 0)
            {
                Assert.True(offset + read <= data.Length, "the file is longer than what was written");
                Assert.True(buffer.AsSpan(0, read).SequenceEqual(data.AsSpan(offset, read)), $"bytes differ in the {read} bytes from offset {offset}");
                offset += read;
            }
            Assert.Equal(data.Length, offset);
            return offset;
        });
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Artifacts_written_at_once_each_read_back_whole()
    {
        var payloads = Enumerable.Range(0, 8).Select(i => Random(10_000 + i)).ToArray();

        var contents = await Task.WhenAll(payloads.Select((p, i) => Store.WriteArtifactAsync($"many/{i}", Write(("p.bin", p), ("i.txt", Text($"{i}"))))));

        for (var i = 0; i < payloads.Length; i++)
        {
            (string, byte[])[] files = [("i.txt", Text($"{i}")), ("p.bin", payloads[i])];
            Assert.Equal(HashOf(files), contents[i].Hash);
            await AssertReadsAsync($"many/{i}", contents[i].Hash, files);
        }
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_rewrite_replaces_the_artifact_whole()
    {
        var old = await Store.WriteArtifactAsync("out", Write(("old.txt", Text("old"))));
        (string, byte[])[] fresh = [("new.bin", Random(2000))];

        var content = await Store.WriteArtifactAsync("out", Write(fresh));

        await using (var reader = await Store.OpenArtifactAsync("out"))
            await AssertHoldsAsync(reader, fresh);
        Assert.True(await Store.VerifyAsync("out", content.Hash));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.VerifyAsync("out", old.Hash));
    }

    // ---- atomic publication ----

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_writer_that_fails_half_way_publishes_nothing()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WriteArtifactAsync("runs/1/out", async (writer, ct) =>
        {
            await Write(("a.bin", Random(10_000)))(writer, ct);
            var open = writer.CreateFile("left-open.bin"); // a stream the writer never got to close
            await open.WriteAsync(Random(100), ct);
            throw new InvalidOperationException("the step failed");
        }));

        Assert.Equal("the step failed", failure.Message);
        await AssertAbsentAsync("runs/1/out");
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_failed_rewrite_keeps_the_published_artifact()
    {
        (string, byte[])[] first = [("a.bin", Random(500))];
        var content = await Store.WriteArtifactAsync("out", Write(first));

        await Assert.ThrowsAsync<IOException>(() => Store.WriteArtifactAsync("out", async (writer, ct) =>
        {
            await Write(("a.bin", Random(500)))(writer, ct);
            throw new IOException("disk full");
        }));

        await AssertReadsAsync("out", content.Hash, first);
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task An_artifact_is_not_there_while_its_writer_is_half_way()
    {
        (string, byte[])[] published = [("data.bin", Random(1000))];
        var content = await Store.WriteArtifactAsync("published", Write(published));
        var data = Random(50_000);
        using var halfWay = new CountdownEvent(2);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task Paused(IArtifactWriter writer, CancellationToken ct)
        {
            await Write(("first.bin", data))(writer, ct);
            await using var second = writer.CreateFile("second.bin");
            await second.WriteAsync(data.AsMemory(0, data.Length / 2), ct);
            halfWay.Signal();
            await resume.Task; // a killed writer would never go on from here
            await second.WriteAsync(data.AsMemory(data.Length / 2), ct);
        }

        var writes = new[] { Store.WriteArtifactAsync("fresh", Paused), Store.WriteArtifactAsync("published", Paused) };
        try
        {
            Assert.True(await Task.Run(() => halfWay.Wait(Patience)), "the writers did not get half way");
            await AssertAbsentAsync("fresh");
            await AssertReadsAsync("published", content.Hash, published);
        }
        finally
        {
            resume.SetResult();
        }

        var written = await Task.WhenAll(writes);
        foreach (var path in new[] { "fresh", "published" })
            await AssertReadsAsync(path, written[0].Hash, ("first.bin", data), ("second.bin", data));
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task What_a_killed_writer_left_is_not_an_artifact_and_a_rewrite_succeeds()
    {
        (string, byte[])[] published = [("data.bin", Random(1000))];
        var content = await Store.WriteArtifactAsync("published", Write(published));

        await LeaveKilledWriterRemainsAsync(Store, "fresh");
        await LeaveKilledWriterRemainsAsync(Store, "published");

        await AssertAbsentAsync("fresh");
        await AssertReadsAsync("published", content.Hash, published);
        (string, byte[])[] files = [("data.bin", Random(3000))];
        foreach (var path in new[] { "fresh", "published" })
        {
            var rewritten = await Store.WriteArtifactAsync(path, Write(files));
            await AssertReadsAsync(path, rewritten.Hash, files);
        }
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Two_writers_of_one_path_both_finish_and_leave_one_of_their_artifacts_whole()
    {
        for (var round = 0; round < 10; round++)
        {
            var path = $"contested/{round}";
            (string, byte[])[] a = [("a.bin", Random(200_000)), ("shared.txt", Text("A"))];
            (string, byte[])[] b = [("b.bin", Random(150_000)), ("shared.txt", Text("B"))];
            using var meet = new Barrier(2);
            // Both are half way before either goes on, and both publish at the same moment. (A store that lets one writer
            // of a path in at a time waits these out.)
            Func<IArtifactWriter, CancellationToken, Task> Together((string, byte[])[] files) => async (writer, ct) =>
            {
                await Write(files[0])(writer, ct);
                await Task.Run(() => meet.SignalAndWait(TimeSpan.FromSeconds(5)), ct);
                await Write(files[1])(writer, ct);
                await Task.Run(() => meet.SignalAndWait(TimeSpan.FromSeconds(5)), ct);
            };

            var contents = WritersOfOnePathOverlap
                ? await Task.WhenAll(Store.WriteArtifactAsync(path, Together(a)), Store.WriteArtifactAsync(path, Together(b)))
                : [await Store.WriteArtifactAsync(path, Write(a)), await Store.WriteArtifactAsync(path, Write(b))];

            Assert.Equal(new[] { HashOf(a), HashOf(b) }, contents.Select(c => c.Hash));
            await using var reader = await Store.OpenArtifactAsync(path);
            var winner = reader.Files.Contains("a.bin") ? a : b;
            await AssertHoldsAsync(reader, winner);
            Assert.True(await Store.VerifyAsync(path, HashOf(winner)));
        }
    }

    // ---- paths ----

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Paths_that_would_leave_the_root_are_refused_with_an_error_naming_them()
    {
        var hash = HashOf(("a.txt", Text("a")));
        foreach (var path in new[] { "..", "../outside", "a/../../outside", "a/./b", "/etc/passwd", "C:/Windows", "/" })
        {
            var errors = new[]
            {
                await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteArtifactAsync(path, Write(("a.txt", Text("a"))))),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.OpenArtifactAsync(path)),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadArtifactAsync(path, hash, (_, _) => Task.FromResult(0))),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.VerifyAsync(path, hash)),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.ExistsAsync(path)),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.DeleteAsync(path)),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteFileAsync(path, new byte[] { 1 })),
                await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadFileAsync(path)),
            };
            Assert.All(errors, e => Assert.Contains($"'{path}'", e.Message, StringComparison.Ordinal));
        }
        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteArtifactAsync("", Write(("a.txt", Text("a")))));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadFileAsync(""));
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task File_names_inside_an_artifact_that_would_leave_it_are_refused()
    {
        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteArtifactAsync("a", Write(("../../escaped.txt", Text("x")))));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteArtifactAsync("b", Write(("/etc/escaped.txt", Text("x")))));

        await AssertAbsentAsync("a");
        await AssertAbsentAsync("b");
        Assert.False(await Store.ExistsAsync("escaped.txt"));
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_reader_refuses_files_the_artifact_does_not_have()
    {
        await Store.WriteArtifactAsync("a", Write(("x.txt", Text("x"))));
        await using var reader = await Store.OpenArtifactAsync("a");

        Assert.Throws<ArtifactException>(() => reader.OpenFile("y.txt"));
        Assert.Throws<ArtifactException>(() => reader.OpenFile("../x.txt"));
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public void Uris_map_to_paths_and_back_and_foreign_ones_are_refused()
    {
        var uri = Store.UriOf("runs//1/model/");

        Assert.Equal("runs/1/model", Store.PathOf(uri));
        Assert.Throws<ArtifactException>(() => Store.PathOf(Store.Root.TrimEnd('/') + "-other/runs/1/model"));
    }

    // ---- changed bytes ----

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_changed_byte_in_a_stored_file_is_an_error_naming_the_artifact_not_data()
    {
        const string path = "runs/7/model";
        var content = await Store.WriteArtifactAsync(path, Write(("weights.bin", Random(100_000)), ("config.json", Text("{\"layers\":3}"))));

        await CorruptByteAsync(Store, path, "weights.bin");

        var readAll = await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadArtifactAsync(path, content.Hash, ReadEverythingAsync));
        Assert.Contains(path, readAll.Message, StringComparison.Ordinal);
        // Reading only the intact file does not hide the changed one.
        var readSome = await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadArtifactAsync(path, content.Hash, async (reader, ct) =>
        {
            await using var config = reader.OpenFile("config.json");
            return await new StreamReader(config).ReadToEndAsync(ct);
        }));
        Assert.Contains(path, readSome.Message, StringComparison.Ordinal);
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_changed_byte_in_an_artifact_kept_as_its_one_file_is_an_error_too()
    {
        // Only for a store that keeps small one-file artifacts as that file alone (ArtifactStore.SingleFilePathOf).
        if (Store.SingleFilePathOf("runs/7/metric", "value.txt") is not { } single) return;
        var bytes = Text("0.8617");
        await Store.WriteFileAsync(single, bytes);
        var hash = HashOf(("value.txt", bytes));
        Assert.Equal(0, await Store.ReadArtifactAsync(single, hash, ReadEverythingAsync));

        await CorruptByteAsync(Store, single, "value.txt");

        var error = await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadArtifactAsync(single, hash, ReadEverythingAsync));
        Assert.Contains(single, error.Message, StringComparison.Ordinal);
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Verify_tells_an_intact_artifact_from_a_missing_or_a_different_one()
    {
        var content = await Store.WriteArtifactAsync("runs/3/out", Write(("a.bin", Random(1000))));
        var other = HashOf(("a.bin", Random(1000)));

        Assert.True(await Store.VerifyAsync("runs/3/out", content.Hash));
        Assert.False(await Store.VerifyAsync("runs/3/never-written", content.Hash));
        var error = await Assert.ThrowsAsync<ArtifactException>(() => Store.VerifyAsync("runs/3/out", other));
        Assert.Contains("runs/3/out", error.Message, StringComparison.Ordinal);
    }

    // ---- missing artifacts, plain files, deletion ----

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_missing_artifact_does_not_exist_and_opening_it_is_an_error_naming_it()
    {
        await AssertAbsentAsync("runs/9/never-written");

        await Store.WriteArtifactAsync("runs/9/deleted", Write(("a.bin", Random(10))));
        await Store.DeleteAsync("runs/9/deleted");
        await AssertAbsentAsync("runs/9/deleted");
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Plain_files_round_trip_are_overwritten_and_a_missing_one_reads_as_null()
    {
        byte[] content = [0, 1, 2, 255];

        await Store.WriteFileAsync("runs/1/manifest.json", content);
        Assert.Equal(content, await Store.ReadFileAsync("runs/1/manifest.json"));
        Assert.True(await Store.ExistsAsync("runs/1/manifest.json"));

        await Store.WriteFileAsync("runs/1/manifest.json", Text("new"));
        Assert.Equal(Text("new"), await Store.ReadFileAsync("runs/1/manifest.json"));
        Assert.Null(await Store.ReadFileAsync("runs/1/missing.json"));
        Assert.False(await Store.ExistsAsync("runs/1/missing.json"));
    }

    [Fact, Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Delete_removes_artifacts_and_files_leaves_the_rest_and_can_be_repeated()
    {
        await Store.WriteArtifactAsync("a", Write(("x.txt", Text("x")), ("d/y.txt", Text("y"))));
        await Store.WriteFileAsync("f.bin", new byte[] { 1 });
        (string, byte[])[] keep = [("keep.bin", Random(10))];
        var kept = await Store.WriteArtifactAsync("b", Write(keep));

        await Store.DeleteAsync("a");
        await Store.DeleteAsync("f.bin");
        await Store.DeleteAsync("a");
        await Store.DeleteAsync("never-there");

        Assert.False(await Store.ExistsAsync("a"));
        Assert.False(await Store.ExistsAsync("f.bin"));
        Assert.Null(await Store.ReadFileAsync("f.bin"));
        await AssertReadsAsync("b", kept.Hash, keep);
    }

    // ---- helpers ----

    private async Task AssertAbsentAsync(string path)
    {
        Assert.False(await Store.ExistsAsync(path));
        Assert.False(await Store.VerifyAsync(path, HashOf(("a.bin", []))));
        var error = await Assert.ThrowsAsync<ArtifactException>(() => Store.OpenArtifactAsync(path));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadArtifactAsync(path, HashOf(("a.bin", [])), ReadEverythingAsync));
    }

    private static Func<IArtifactWriter, CancellationToken, Task> Write(params (string Name, byte[] Content)[] files) => async (writer, ct) =>
    {
        foreach (var (name, content) in files)
        {
            await using var stream = writer.CreateFile(name);
            // Odd-sized writes, so no store's part or buffer boundaries line up with them.
            for (var offset = 0; offset < content.Length; offset += 100_003)
                await stream.WriteAsync(content.AsMemory(offset, Math.Min(100_003, content.Length - offset)), ct);
        }
    };

    /// <summary>The content hash every store must give these files (see <see cref="ContentHasher"/>).</summary>
    private static string HashOf(params (string Name, byte[] Content)[] files)
    {
        var hasher = new ContentHasher();
        foreach (var (name, content) in files) hasher.Add(name, XxHash128.Hash(content), content.Length);
        return hasher.Result().Hash;
    }

    /// <summary>Reads the artifact through <see cref="ArtifactStore.ReadArtifactAsync{T}"/> (checked against the hash) and compares every file.</summary>
    private Task<bool> AssertReadsAsync(string path, string hash, params (string Name, byte[] Content)[] files) =>
        Store.ReadArtifactAsync(path, hash, async (reader, _) =>
        {
            await AssertHoldsAsync(reader, files);
            return true;
        });

    private static async Task AssertHoldsAsync(IArtifactReader reader, params (string Name, byte[] Content)[] files)
    {
        Assert.Equal(files.Select(f => f.Name).Order(StringComparer.Ordinal), reader.Files);
        foreach (var (name, content) in files)
        {
            Assert.Equal(content, await ReadAllAsync(reader, name));
            Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(reader.LocalDirectory, name.Replace('/', Path.DirectorySeparatorChar))));
        }
    }

    private static async Task<int> ReadEverythingAsync(IArtifactReader reader, CancellationToken cancellationToken)
    {
        foreach (var name in reader.Files) await ReadAllAsync(reader, name);
        return 0;
    }

    private static async Task<byte[]> ReadAllAsync(IArtifactReader reader, string name)
    {
        await using var stream = reader.OpenFile(name);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static byte[] Random(int size) => RandomNumberGenerator.GetBytes(size);

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);
}
