using System.Text;
using Strata.Tests.Support;

namespace Strata.Tests.Artifacts;

public sealed class LocalArtifactStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new("strata-store");
    private readonly LocalArtifactStore _store;

    public LocalArtifactStoreTests() => _store = new LocalArtifactStore(_temp.Combine("root"));

    public void Dispose() => _temp.Dispose();

    private static Func<IArtifactWriter, CancellationToken, Task> Files(params (string Name, string Content)[] files) => async (writer, ct) =>
    {
        foreach (var (name, content) in files)
        {
            await using var stream = writer.CreateFile(name);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(content), ct);
        }
    };

    private static async Task<string> ReadAsync(IArtifactReader reader, string name)
    {
        using var text = new StreamReader(reader.OpenFile(name));
        return await text.ReadToEndAsync();
    }

    private string TempArea => Path.Combine(_store.Root, ".tmp");

    private bool TempAreaIsEmpty => !Directory.Exists(TempArea) || !Directory.EnumerateFileSystemEntries(TempArea).Any();

    [Fact]
    public async Task Writes_and_reads_an_artifact()
    {
        await _store.WriteArtifactAsync("runs/1/model", Files(("b.txt", "bee"), ("a/nested.txt", "nested")));

        Assert.True(await _store.ExistsAsync("runs/1/model"));
        await using var reader = await _store.OpenArtifactAsync("runs/1/model");
        Assert.Equal(["a/nested.txt", "b.txt"], reader.Files);
        Assert.Equal("nested", await ReadAsync(reader, "a/nested.txt"));
        Assert.Equal(_store.FullPathOf("runs/1/model"), reader.LocalDirectory);
        Assert.True(TempAreaIsEmpty);
    }

    [Fact]
    public async Task A_write_that_fails_publishes_nothing()
    {
        var write = Files(("a.txt", "partial"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.WriteArtifactAsync("runs/1/out", async (writer, ct) =>
        {
            await write(writer, ct);
            _ = writer.CreateFile("left-open.txt"); // a stream the callback never got to close
            throw new InvalidOperationException("step failed");
        }));

        Assert.False(await _store.ExistsAsync("runs/1/out"));
        Assert.False(Directory.Exists(_store.FullPathOf("runs/1/out")));
        Assert.True(TempAreaIsEmpty);
        await Assert.ThrowsAsync<ArtifactException>(() => _store.OpenArtifactAsync("runs/1/out"));
    }

    [Fact]
    public async Task A_failed_rewrite_keeps_the_published_artifact()
    {
        await _store.WriteArtifactAsync("out", Files(("a.txt", "first")));

        await Assert.ThrowsAsync<IOException>(() => _store.WriteArtifactAsync("out", (_, _) => throw new IOException("disk full")));

        await using var reader = await _store.OpenArtifactAsync("out");
        Assert.Equal("first", await ReadAsync(reader, "a.txt"));
    }

    [Fact]
    public async Task A_rewrite_replaces_the_artifact_whole()
    {
        await _store.WriteArtifactAsync("out", Files(("old.txt", "old")));
        await _store.WriteArtifactAsync("out", Files(("new.txt", "new")));

        await using var reader = await _store.OpenArtifactAsync("out");
        Assert.Equal(["new.txt"], reader.Files);
    }

    [Fact]
    public async Task Content_hash_depends_on_content_only()
    {
        var a = await _store.WriteArtifactAsync("a", Files(("x.txt", "same"), ("y.txt", "also")));
        var b = await _store.WriteArtifactAsync("b", Files(("y.txt", "also"), ("x.txt", "same")));
        var otherContent = await _store.WriteArtifactAsync("c", Files(("x.txt", "same!"), ("y.txt", "also")));
        var otherName = await _store.WriteArtifactAsync("d", Files(("z.txt", "same"), ("y.txt", "also")));

        Assert.StartsWith("xxh128:", a.Hash);
        Assert.Equal(a.Hash, b.Hash);
        Assert.NotEqual(a.Hash, otherContent.Hash);
        Assert.NotEqual(a.Hash, otherName.Hash);
    }

    [Fact]
    public async Task Size_counts_every_byte_written()
    {
        var content = await _store.WriteArtifactAsync("a", Files(("x.txt", "12345"), ("d/y.txt", "é"), ("empty", "")));

        Assert.Equal(5 + 2, content.Size);
        Assert.Equal(0, (await _store.WriteArtifactAsync("b", Files())).Size);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../outside")]
    [InlineData("a/../../outside")]
    [InlineData("a/./b")]
    [InlineData("/etc/passwd")]
    [InlineData("C:/Windows")]
    [InlineData("")]
    [InlineData("/")]
    [InlineData(".tmp/x")]
    public async Task Refuses_paths_that_escape_the_root(string path)
    {
        await Assert.ThrowsAsync<ArtifactException>(() => _store.WriteArtifactAsync(path, Files(("a.txt", "a"))));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.OpenArtifactAsync(path));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.ExistsAsync(path));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.DeleteAsync(path));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.WriteFileAsync(path, new byte[] { 1 }));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.ReadFileAsync(path));
        Assert.False(File.Exists(_temp.Combine("outside")));
    }

    [Fact]
    public async Task Refuses_file_names_inside_an_artifact_that_escape_it()
    {
        await Assert.ThrowsAsync<ArtifactException>(() => _store.WriteArtifactAsync("a", Files(("../../escaped.txt", "x"))));

        Assert.False(File.Exists(Path.Combine(_store.Root, "escaped.txt")));
        Assert.False(await _store.ExistsAsync("a"));
    }

    [Fact]
    public async Task Refuses_a_link_inside_the_root_that_points_outside()
    {
        var outside = _temp.Combine("outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(_store.Root, "escape"), outside);

        await Assert.ThrowsAsync<ArtifactException>(() => _store.WriteArtifactAsync("escape/artifact", Files(("a.txt", "a"))));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.WriteFileAsync("escape/file.bin", new byte[] { 1 }));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.ReadFileAsync("escape/secret.txt"));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.ExistsAsync("escape/secret.txt"));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.OpenArtifactAsync("escape"));
        await Assert.ThrowsAsync<ArtifactException>(() => _store.DeleteAsync("escape/secret.txt"));

        Assert.Equal(["secret.txt"], Directory.EnumerateFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Equal("secret", await File.ReadAllTextAsync(Path.Combine(outside, "secret.txt")));
    }

    [Fact]
    public async Task Allows_a_link_that_stays_inside_the_root()
    {
        Directory.CreateDirectory(Path.Combine(_store.Root, "real"));
        Directory.CreateSymbolicLink(Path.Combine(_store.Root, "alias"), Path.Combine(_store.Root, "real"));

        await _store.WriteFileAsync("alias/file.bin", new byte[] { 9 });

        Assert.Equal([9], await _store.ReadFileAsync("real/file.bin"));
    }

    [Fact]
    public async Task Writes_and_reads_single_files()
    {
        byte[] content = [0, 1, 2, 255];

        await _store.WriteFileAsync("runs/1/manifest.json", content);

        Assert.Equal(content, await _store.ReadFileAsync("runs/1/manifest.json"));
        Assert.True(await _store.ExistsAsync("runs/1/manifest.json"));
        Assert.Equal(["manifest.json"], Directory.EnumerateFileSystemEntries(Path.Combine(_store.Root, "runs", "1")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Overwrites_a_single_file_and_reads_null_when_absent()
    {
        await _store.WriteFileAsync("result.json", "old"u8.ToArray());
        await _store.WriteFileAsync("result.json", "new"u8.ToArray());

        Assert.Equal("new"u8.ToArray(), await _store.ReadFileAsync("result.json"));
        Assert.Null(await _store.ReadFileAsync("missing.json"));
        Assert.False(await _store.ExistsAsync("missing.json"));
    }

    [Fact]
    public async Task Deletes_artifacts_and_files_and_ignores_absent_ones()
    {
        await _store.WriteArtifactAsync("a", Files(("x.txt", "x")));
        await _store.WriteFileAsync("f.bin", new byte[] { 1 });

        await _store.DeleteAsync("a");
        await _store.DeleteAsync("f.bin");
        await _store.DeleteAsync("never-there");

        Assert.False(await _store.ExistsAsync("a"));
        Assert.False(await _store.ExistsAsync("f.bin"));
    }

    [Fact]
    public async Task Reports_a_missing_file_in_an_artifact()
    {
        await _store.WriteArtifactAsync("a", Files(("x.txt", "x")));
        await using var reader = await _store.OpenArtifactAsync("a");

        Assert.Throws<ArtifactException>(() => reader.OpenFile("y.txt"));
        Assert.Throws<ArtifactException>(() => reader.OpenFile("../x.txt"));
    }

    [Fact]
    public void Maps_uris_to_paths_and_back()
    {
        var uri = _store.UriOf("runs/1/model");

        Assert.Equal("runs/1/model", _store.PathOf(uri));
        Assert.Throws<ArtifactException>(() => _store.PathOf("/somewhere/else/x"));
    }
}
