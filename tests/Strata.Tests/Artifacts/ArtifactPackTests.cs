using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using Strata.Tests.Support;

namespace Strata.Tests.Artifacts;

/// <summary>
/// The local store's packs of small artifacts: one segment file per process in each directory. Each new
/// <see cref="LocalArtifactStore"/> object here stands for a process of its own: it shares nothing with the others but
/// the files.
/// </summary>
public sealed class ArtifactPackTests : IDisposable
{
    private readonly TempDirectory _temp = new("strata-pack");

    public void Dispose() => _temp.Dispose();

    private LocalArtifactStore NewStore(string root = "root") => new(_temp.Combine(root), sharePacks: false);

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text);

    private static string HashOf(string file, byte[] bytes) => ContentHasher.Combine([new HashedFile(file, XxHash128.Hash(bytes), bytes.Length)]).Hash;

    private string[] Segments(string root, string directory) =>
        Directory.GetFiles(_temp.Combine(root, directory), ArtifactPack.SegmentPrefix + "*");

    [Fact]
    public async Task A_record_torn_by_a_crash_at_any_byte_never_reads_as_whole_and_the_ones_before_it_do()
    {
        var writer = NewStore();
        await writer.WriteFileAsync("runs/1/a~value.txt", Text("first value"));
        var segment = Assert.Single(Segments("root", "runs/1"));
        var before = new FileInfo(segment).Length;
        await writer.WriteFileAsync("runs/1/b~value.txt", Text("second value"));
        var whole = await File.ReadAllBytesAsync(segment);
        Assert.True(whole.Length > before);

        for (var cut = before; cut < whole.Length; cut++)
        {
            // What a crash leaves: the record cut short, or (a file system that grew the file first) its tail still zeros.
            foreach (var zeroTail in new[] { false, true })
            {
                var root = $"crash-{cut}-{zeroTail}";
                Directory.CreateDirectory(_temp.Combine(root, "runs", "1"));
                var left = whole[..(int)cut];
                if (zeroTail) left = [.. left, .. new byte[whole.Length - cut]];
                await File.WriteAllBytesAsync(_temp.Combine(root, "runs", "1", Path.GetFileName(segment)), left);

                var reader = NewStore(root);
                Assert.True(await reader.VerifyAsync("runs/1/a~value.txt", HashOf("value.txt", Text("first value"))));
                Assert.Equal(Text("first value"), await reader.ReadFileAsync("runs/1/a~value.txt"));
                if (!zeroTail)
                {
                    Assert.Null(await reader.ReadFileAsync("runs/1/b~value.txt"));
                    Assert.False(await reader.ExistsAsync("runs/1/b~value.txt"));
                    await Assert.ThrowsAsync<ArtifactException>(() => reader.OpenArtifactAsync("runs/1/b~value.txt"));
                }
                // Zeros where its bytes should be: absent, or there and failing its content check; never read as whole.
                var verified = await Record.ExceptionAsync(async () =>
                    Assert.False(await reader.VerifyAsync("runs/1/b~value.txt", HashOf("value.txt", Text("second value")))));
                Assert.True(verified is null or ArtifactException, verified?.ToString());
                await Assert.ThrowsAsync<ArtifactException>(() =>
                    reader.ReadArtifactAsync("runs/1/b~value.txt", HashOf("value.txt", Text("second value")), (_, _) => Task.FromResult(0)));
            }
        }

        // The step runs again after the crash: its output is written anew, beside what the crash left, and reads whole.
        var rerun = NewStore("crash-" + (before + 5) + "-False");
        await rerun.WriteFileAsync("runs/1/b~value.txt", Text("second value"));
        var later = NewStore("crash-" + (before + 5) + "-False");
        Assert.Equal(Text("second value"), await later.ReadFileAsync("runs/1/b~value.txt"));
        Assert.True(await later.VerifyAsync("runs/1/b~value.txt", HashOf("value.txt", Text("second value"))));
        Assert.Equal(2, Segments("crash-" + (before + 5) + "-False", "runs/1").Length);
    }

    [Fact]
    public async Task A_record_changed_on_disk_fails_its_content_check_and_the_records_after_it_still_read()
    {
        var writer = NewStore();
        foreach (var name in new[] { "a", "b", "c" }) await writer.WriteFileAsync($"runs/1/{name}~value.txt", Text($"value of {name}"));
        var (segment, offset, _) = writer.PackedLocationOf("runs/1/b~value.txt")!.Value;
        await using (var file = File.Open(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            file.Position = offset;
            file.WriteByte((byte)'V');
        }

        foreach (var reader in new[] { NewStore(), writer }) // a new process, and the writer, which indexed it as it wrote it
        {
            Assert.Equal(Text("value of a"), await reader.ReadFileAsync("runs/1/a~value.txt"));
            var error = await Assert.ThrowsAsync<ArtifactException>(() => reader.VerifyAsync("runs/1/b~value.txt", HashOf("value.txt", Text("value of b"))));
            Assert.Contains("b~value.txt", error.Message);
            Assert.True(await reader.VerifyAsync("runs/1/c~value.txt", HashOf("value.txt", Text("value of c"))));
        }
    }

    [Fact]
    public async Task Records_verified_in_order_are_read_ahead_but_never_past_the_whole_records_known_then()
    {
        var writer = NewStore();
        var reader = NewStore(); // another process, following the writer's segment
        foreach (var name in new[] { "a", "b", "c" }) await writer.WriteFileAsync($"runs/1/{name}~value.txt", Text($"value of {name}"));
        foreach (var store in new[] { writer, reader })
            foreach (var name in new[] { "a", "b", "c" })
                Assert.True(await store.VerifyAsync($"runs/1/{name}~value.txt", HashOf("value.txt", Text($"value of {name}"))));

        // Written after both read ahead from "a": its bytes are read from the segment, not taken from the bytes read before.
        await writer.WriteFileAsync("runs/1/d~value.txt", Text("value of d"));
        foreach (var store in new[] { writer, reader })
        {
            Assert.True(await store.VerifyAsync("runs/1/d~value.txt", HashOf("value.txt", Text("value of d"))));
            Assert.True(await store.VerifyAsync("runs/1/b~value.txt", HashOf("value.txt", Text("value of b"))));
        }

        // Bytes changed on disk after a second: read again, and the change is caught.
        var (segment, offset, _) = writer.PackedLocationOf("runs/1/c~value.txt")!.Value;
        await using (var file = File.Open(segment, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            file.Position = offset;
            file.WriteByte((byte)'V');
        }
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        foreach (var store in new[] { writer, reader })
            await Assert.ThrowsAsync<ArtifactException>(() => store.VerifyAsync("runs/1/c~value.txt", HashOf("value.txt", Text("value of c"))));
    }

    [Fact]
    public async Task Packed_artifacts_read_back_after_a_restart_and_later_writes_and_deletes_add_a_segment_of_their_own()
    {
        var first = NewStore();
        for (var i = 0; i < 100; i++) await first.WriteFileAsync($"runs/1/s{i}.output~value.txt", Text($"{i * i}"));
        Assert.Single(Segments("root", "runs/1"));
        Assert.Empty(Directory.GetFiles(_temp.Combine("root", "runs", "1"), "*~*"));

        var second = NewStore();
        for (var i = 0; i < 100; i++)
        {
            Assert.True(await second.VerifyAsync($"runs/1/s{i}.output~value.txt", HashOf("value.txt", Text($"{i * i}"))));
            await using var reader = await second.OpenArtifactAsync($"runs/1/s{i}.output~value.txt");
            Assert.Equal(["value.txt"], reader.Files);
            using var text = new StreamReader(reader.OpenFile("value.txt"));
            Assert.Equal($"{i * i}", await text.ReadToEndAsync());
        }
        for (var i = 100; i < 150; i++) await second.WriteFileAsync($"runs/1/s{i}.output~value.txt", Text($"{i * i}"));
        for (var i = 0; i < 10; i++) await second.DeleteAsync($"runs/1/s{i}.output~value.txt");
        await second.WriteFileAsync("runs/1/s10.output~value.txt", Text("rewritten"));

        var third = NewStore();
        for (var i = 0; i < 10; i++) Assert.False(await third.ExistsAsync($"runs/1/s{i}.output~value.txt"));
        Assert.Equal(Text("rewritten"), await third.ReadFileAsync("runs/1/s10.output~value.txt"));
        for (var i = 11; i < 150; i++) Assert.Equal(Text($"{i * i}"), await third.ReadFileAsync($"runs/1/s{i}.output~value.txt"));
        Assert.Equal(2, Segments("root", "runs/1").Length);
        // The first writer had not read the second's segment: a name it does not know sends it there.
        Assert.Equal(Text($"{149 * 149}"), await first.ReadFileAsync("runs/1/s149.output~value.txt"));
    }

    [Fact]
    public async Task Concurrent_writers_in_one_directory_and_a_reader_following_them_see_only_whole_values()
    {
        const int writers = 4, each = 250;
        var shared = NewStore(); // one process whose steps run in parallel
        var written = new ConcurrentQueue<string>();
        static byte[] ContentOf(string name) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(name, name.Length % 7 + 1)));

        var writing = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var store = w % 2 == 0 ? NewStore() : shared; // two processes of their own, and two threads of one
            for (var n = 0; n < each; n++)
            {
                var path = $"runs/1/w{w}-{n}.output~value.bin";
                await store.WriteFileAsync(path, ContentOf(path));
                written.Enqueue(path);
            }
        })).ToArray();
        var follower = NewStore();
        var seen = 0;
        var following = Task.Run(async () =>
        {
            while (!writing.All(t => t.IsCompleted) || seen < written.Count)
            {
                foreach (var path in written.Skip(seen).ToArray())
                {
                    Assert.Equal(ContentOf(path), await follower.ReadFileAsync(path));
                    seen++;
                }
            }
        });
        await Task.WhenAll(writing);
        await following;

        Assert.Equal(writers * each, seen);
        Assert.Equal(3, Segments("root", "runs/1").Length);
        var fresh = NewStore();
        foreach (var path in written) Assert.Equal(ContentOf(path), await fresh.ReadFileAsync(path));
    }

    [Fact]
    public async Task Runs_written_at_once_keep_packs_of_their_own()
    {
        var store = NewStore();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(r => Task.Run(async () =>
        {
            for (var n = 0; n < 100; n++) await store.WriteFileAsync($"pipe/run-{r}/s{n}.output~value.txt", Text($"{r}:{n}"));
        })));

        var fresh = NewStore();
        for (var r = 0; r < 3; r++)
        {
            Assert.Single(Segments("root", $"pipe/run-{r}"));
            for (var n = 0; n < 100; n++) Assert.Equal(Text($"{r}:{n}"), await fresh.ReadFileAsync($"pipe/run-{r}/s{n}.output~value.txt"));
        }
    }

    [Fact]
    public async Task Larger_values_a_shared_store_and_plain_files_are_not_packed()
    {
        var store = NewStore();
        var large = new byte[ArtifactPack.MaxContentBytes + 1];
        await store.WriteFileAsync("runs/1/big~value.bin", large);
        await store.WriteFileAsync("runs/1/manifest.json", Text("{}"));
        var shared = new LocalArtifactStore(_temp.Combine("shared"), sharePacks: false) { Shared = true };
        await shared.WriteFileAsync("runs/1/small~value.txt", Text("1"));

        Assert.Equal(large, await File.ReadAllBytesAsync(store.FullPathOf("runs/1/big~value.bin")));
        Assert.True(File.Exists(store.FullPathOf("runs/1/manifest.json")));
        Assert.Empty(Segments("root", "runs/1"));
        Assert.Equal(Text("1"), await File.ReadAllBytesAsync(shared.FullPathOf("runs/1/small~value.txt")));
        Assert.Empty(Segments("shared", "runs/1"));
    }

    [Fact]
    public async Task A_value_first_packed_then_rewritten_too_large_to_pack_reads_as_the_rewrite()
    {
        var store = NewStore();
        await store.WriteFileAsync("runs/1/x~value.bin", Text("small"));
        var large = Enumerable.Repeat((byte)7, ArtifactPack.MaxContentBytes + 10).ToArray();
        await store.WriteFileAsync("runs/1/x~value.bin", large);

        Assert.Equal(large, await store.ReadFileAsync("runs/1/x~value.bin"));
        Assert.Equal(large, await NewStore().ReadFileAsync("runs/1/x~value.bin"));
    }

    [Fact]
    public async Task Paths_named_like_a_pack_are_refused()
    {
        var store = NewStore();
        await Assert.ThrowsAsync<ArtifactException>(() => store.WriteFileAsync("runs/1/.pack-0123", Text("x")));
        await Assert.ThrowsAsync<ArtifactException>(() => store.ReadFileAsync("runs/1/.pack-0123"));
        await Assert.ThrowsAsync<ArtifactException>(() => store.DeleteAsync("runs/1/.pack-0123"));
    }

    [Fact]
    public async Task Store_objects_of_one_root_in_a_process_share_their_packs_and_keep_few_open()
    {
        var root = _temp.Combine("one-process");
        for (var run = 0; run < 80; run++) // a store object per run, as each run makes
            await new LocalArtifactStore(root).WriteFileAsync($"pipe/run-{run}/s.output~value.txt", Text($"{run}"));

        var later = new LocalArtifactStore(root);
        Assert.Equal(Text("79"), await later.ReadFileAsync("pipe/run-79/s.output~value.txt"));
        Assert.Equal(Text("0"), await later.ReadFileAsync("pipe/run-0/s.output~value.txt")); // let go long since, read again from its file
        for (var run = 0; run < 80; run++) Assert.Single(Segments("one-process", $"pipe/run-{run}"));
        var open = Directory.GetFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget?.StartsWith(root, StringComparison.Ordinal) == true);
        Assert.InRange(open, 1, 32);
    }

    [Fact]
    public async Task A_segment_removed_behind_a_process_s_back_is_forgotten_by_its_next_store_object()
    {
        var root = _temp.Combine("wiped");
        var first = new LocalArtifactStore(root);
        await first.WriteFileAsync("pipe/run/s.output~value.txt", Text("1"));
        Directory.Delete(_temp.Combine("wiped", "pipe"), recursive: true);

        var next = new LocalArtifactStore(root); // the next run in the same process
        Assert.False(await next.ExistsAsync("pipe/run/s.output~value.txt"));
        await next.WriteFileAsync("pipe/run/s.output~value.txt", Text("2"));
        Assert.Equal(Text("2"), await new LocalArtifactStore(root, sharePacks: false).ReadFileAsync("pipe/run/s.output~value.txt"));
    }

    [Fact]
    public async Task A_reader_finds_the_latest_record_of_a_name_whether_it_searches_for_a_few_or_indexes_them_all()
    {
        var first = NewStore();
        await first.WriteFileAsync("runs/1/x~value.txt", Text("1"));
        await first.WriteFileAsync("runs/1/y~value.txt", Text("1"));
        for (var i = 0; i < 20; i++) await first.WriteFileAsync($"runs/1/other{i}~value.txt", Text($"{i}"));
        await Task.Delay(TimeSpan.FromMilliseconds(2), TimeProvider.System);
        var second = NewStore(); // a later process rewrites one and removes the other
        await second.WriteFileAsync("runs/1/x~value.txt", Text("2"));
        await second.DeleteAsync("runs/1/y~value.txt");
        await second.WriteFileAsync("runs/1/z~value.txt", Text("2"));
        await Task.Delay(TimeSpan.FromMilliseconds(2), TimeProvider.System);
        await first.WriteFileAsync("runs/1/z~value.txt", Text("3")); // and the first writes one again, last

        // A step process's few lookups search the segments' bytes; then (after 8) the directory is indexed.
        var reader = NewStore();
        Assert.Equal(Text("2"), await reader.ReadFileAsync("runs/1/x~value.txt"));
        Assert.False(await reader.ExistsAsync("runs/1/y~value.txt"));
        Assert.Equal(Text("3"), await reader.ReadFileAsync("runs/1/z~value.txt"));
        for (var i = 0; i < 20; i++) Assert.Equal(Text($"{i}"), await reader.ReadFileAsync($"runs/1/other{i}~value.txt"));
        Assert.Equal(Text("2"), await reader.ReadFileAsync("runs/1/x~value.txt"));
        Assert.False(await reader.ExistsAsync("runs/1/y~value.txt"));

        // Looked up only after the directory was indexed.
        var indexing = NewStore();
        for (var i = 0; i < 9; i++) Assert.False(await indexing.ExistsAsync($"runs/1/absent{i}~value.txt"));
        Assert.Equal(Text("2"), await indexing.ReadFileAsync("runs/1/x~value.txt"));
        Assert.Null(await indexing.ReadFileAsync("runs/1/y~value.txt"));
        Assert.Equal(Text("3"), await indexing.ReadFileAsync("runs/1/z~value.txt"));
        Assert.Equal(Text("19"), await indexing.ReadFileAsync("runs/1/other19~value.txt"));
    }
}
