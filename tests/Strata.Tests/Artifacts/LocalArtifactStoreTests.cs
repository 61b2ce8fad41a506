using System.Text;
using Strata.Testing;
using Strata.Tests.Support;

namespace Strata.Tests.Artifacts;

/// <summary>The <c>local</c> store: the conformance suite, then what is particular to a directory on this machine.</summary>
public sealed class LocalArtifactStoreTests : ArtifactStoreConformance
{
    private readonly TempDirectory _temp = new("strata-store");

    private LocalArtifactStore Local => (LocalArtifactStore)Store;

    protected override Task<ArtifactStore> CreateStoreAsync() => Task.FromResult<ArtifactStore>(new LocalArtifactStore(_temp.Combine("root")));

    protected override Task CorruptByteAsync(ArtifactStore store, string path, string file)
    {
        static byte[] FlipMiddleByte(byte[] bytes)
        {
            bytes[bytes.Length / 2] ^= 0xff;
            return bytes;
        }
        var local = (LocalArtifactStore)store;
        var full = local.FullPathOf(path);
        return Directory.Exists(full)
            ? StoredBytes.ChangeFileAsync(Path.Combine(full, file), FlipMiddleByte)
            : StoredBytes.ChangeAsync(local.Root, local.UriOf(path), FlipMiddleByte); // kept as its one file, or in its directory's pack
    }

    /// <summary>A writer killed mid-write leaves its private temporary directory, or the temporary file of a single file.</summary>
    protected override async Task LeaveKilledWriterRemainsAsync(ArtifactStore store, string path)
    {
        var local = (LocalArtifactStore)store;
        var temp = Path.Combine(local.Root, ".tmp", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(temp);
        await File.WriteAllBytesAsync(Path.Combine(temp, "data.bin"), new byte[1000]);
        var full = local.FullPathOf(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await File.WriteAllBytesAsync(Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():n}.tmp"), new byte[10]);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _temp.Dispose();
    }

    private static Func<IArtifactWriter, CancellationToken, Task> Files(params (string Name, string Content)[] files) => async (writer, ct) =>
    {
        foreach (var (name, content) in files)
        {
            await using var stream = writer.CreateFile(name);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(content), ct);
        }
    };

    private string TempArea => Path.Combine(Store.Root, ".tmp");

    private bool TempAreaIsEmpty => !Directory.Exists(TempArea) || !Directory.EnumerateFileSystemEntries(TempArea).Any();

    [Fact]
    public async Task Publishes_the_artifact_directory_in_place_and_leaves_no_temporary_files()
    {
        await Store.WriteArtifactAsync("runs/1/model", Files(("b.txt", "bee")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Store.WriteArtifactAsync("runs/1/out", async (writer, ct) =>
        {
            await Files(("a.txt", "partial"))(writer, ct);
            _ = writer.CreateFile("left-open.txt");
            throw new InvalidOperationException("step failed");
        }));
        await Store.WriteArtifactAsync("runs/1/model", Files(("c.txt", "sea"))); // a rewrite moves the old one aside and removes it

        await using var reader = await Store.OpenArtifactAsync("runs/1/model");
        Assert.Equal(Local.FullPathOf("runs/1/model"), reader.LocalDirectory);
        Assert.False(Directory.Exists(Local.FullPathOf("runs/1/out")));
        Assert.True(TempAreaIsEmpty);
    }

    [Fact]
    public async Task Refuses_paths_inside_its_private_temporary_directory()
    {
        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteArtifactAsync(".tmp/x", Files(("a.txt", "a"))));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.OpenArtifactAsync(".tmp/x"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteFileAsync(".tmp/x", new byte[] { 1 }));
    }

    [Fact]
    public async Task Refuses_a_link_inside_the_root_that_points_outside()
    {
        var outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(Store.Root, "escape"), outside);

        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteArtifactAsync("escape/artifact", Files(("a.txt", "a"))));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.WriteFileAsync("escape/file.bin", new byte[] { 1 }));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadFileAsync("escape/secret.txt"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.ExistsAsync("escape/secret.txt"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.OpenArtifactAsync("escape"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.DeleteAsync("escape/secret.txt"));

        Assert.Equal(["secret.txt"], Directory.EnumerateFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Equal("secret", await File.ReadAllTextAsync(Path.Combine(outside, "secret.txt")));
    }

    [Fact]
    public async Task Refuses_a_file_link_at_the_end_of_a_path_that_points_outside()
    {
        var outside = _temp.Combine("outside.txt");
        await File.WriteAllTextAsync(outside, "secret");
        Directory.CreateDirectory(Path.Combine(Store.Root, "runs"));
        await Store.WriteFileAsync("runs/kept.bin", new byte[] { 1 }); // the directory is then known to be a plain one
        File.CreateSymbolicLink(Path.Combine(Store.Root, "runs", "model~value.txt"), outside);

        await Assert.ThrowsAsync<ArtifactException>(() => Store.ReadFileAsync("runs/model~value.txt"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.ExistsAsync("runs/model~value.txt"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.VerifyAsync("runs/model~value.txt", ContentHasher.Prefix + "0"));
        await Assert.ThrowsAsync<ArtifactException>(() => Store.OpenArtifactAsync("runs/model~value.txt"));
        Assert.Equal("secret", await File.ReadAllTextAsync(outside));
    }

    [Fact]
    public async Task Allows_a_link_that_stays_inside_the_root()
    {
        Directory.CreateDirectory(Path.Combine(Store.Root, "real"));
        Directory.CreateSymbolicLink(Path.Combine(Store.Root, "alias"), Path.Combine(Store.Root, "real"));

        await Store.WriteFileAsync("alias/file.bin", new byte[] { 9 });

        Assert.Equal([9], await Store.ReadFileAsync("real/file.bin"));
    }

    [Fact]
    public async Task A_single_file_is_written_in_place_without_temporary_files_left_beside_it()
    {
        await Store.WriteFileAsync("runs/1/manifest.json", new byte[] { 1 });
        await Store.WriteFileAsync("runs/1/manifest.json", new byte[] { 2 });

        Assert.Equal(["manifest.json"], Directory.EnumerateFileSystemEntries(Path.Combine(Store.Root, "runs", "1")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_large_numeric_array_read_in_parallel_pieces_is_checked_too()
    {
        var registry = new MaterializerRegistry();
        var values = Enumerable.Range(0, 8 << 20).Select(i => (float)i).ToArray(); // 32 MiB: read in one piece per processor
        var record = await ArtifactIO.SaveAsync(Store, registry, "runs/1/array", values, typeof(float[]), null, "output", CancellationToken.None);
        Assert.Equal(values, (float[])(await ArtifactIO.LoadAsync(Store, registry, record, typeof(float[]), CancellationToken.None))!);

        await CorruptByteAsync(Store, "runs/1/array", "array.bin");

        var error = await Assert.ThrowsAsync<ArtifactException>(() => ArtifactIO.LoadAsync(Store, registry, record, typeof(float[]), CancellationToken.None));
        Assert.Contains(record.Uri, error.Message);
    }

    [Fact]
    public async Task Files_a_materializer_reads_by_path_are_checked_before_the_value_is_returned()
    {
        var registry = new MaterializerRegistry();
        var source = Directory.CreateDirectory(_temp.Combine("model"));
        await File.WriteAllTextAsync(Path.Combine(source.FullName, "weights.txt"), "0.25 0.75");
        var record = await ArtifactIO.SaveAsync(Store, registry, "runs/1/model", source, typeof(DirectoryInfo), null, "output", CancellationToken.None);

        await CorruptByteAsync(Store, "runs/1/model", "weights.txt");

        await Assert.ThrowsAsync<ArtifactException>(() => ArtifactIO.LoadAsync(Store, registry, record, typeof(DirectoryInfo), CancellationToken.None));
    }
}
