namespace Strata.Tests.Materializers;

public sealed class DirectoryMaterializerTests : IDisposable
{
    private readonly ArtifactHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Source(params string[] parts) => _h.Temp.Combine(["source", .. parts]);

    private void WriteFile(string relative, string content)
    {
        var path = Source(relative.Split('/'));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    private static Dictionary<string, string> Contents(DirectoryInfo directory) => directory
        .EnumerateFiles("*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(directory.FullName, f.FullName).Replace('\\', '/'), f => File.ReadAllText(f.FullName));

    [Fact]
    public async Task Copies_a_nested_tree()
    {
        WriteFile("top.txt", "top");
        WriteFile("empty.txt", "");
        WriteFile("a/b/c/deep.txt", "deep");
        WriteFile("données/π.txt", "unicode");

        var loaded = await _h.RoundTripAsync(new DirectoryInfo(Source()), "strata.directory");

        Assert.StartsWith(_h.Store.Root + Path.DirectorySeparatorChar, loaded.FullName);
        Assert.Equal(Contents(new DirectoryInfo(Source())), Contents(loaded));
        Assert.Equal(4, Contents(loaded).Count);
    }

    [Fact]
    public async Task Round_trips_an_empty_directory()
    {
        Directory.CreateDirectory(Source());

        var loaded = await _h.RoundTripAsync(new DirectoryInfo(Source()), "strata.directory");

        Assert.Empty(loaded.EnumerateFileSystemInfos());
    }

    [Fact]
    public async Task Follows_links_that_stay_inside_the_directory()
    {
        WriteFile("real/data.txt", "data");
        File.CreateSymbolicLink(Source("alias.txt"), Path.Combine("real", "data.txt"));
        Directory.CreateSymbolicLink(Source("alias-dir"), Source("real"));

        var contents = Contents(await _h.RoundTripAsync(new DirectoryInfo(Source()), "strata.directory"));

        Assert.Equal("data", contents["alias.txt"]);
        Assert.Equal("data", contents["alias-dir/data.txt"]);
        Assert.Equal("data", contents["real/data.txt"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Refuses_a_link_that_points_outside(bool directoryLink)
    {
        WriteFile("ok.txt", "ok");
        var outside = _h.Temp.Combine("secret");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "key.txt"), "secret");
        Directory.CreateDirectory(Source("sub"));
        if (directoryLink)
            Directory.CreateSymbolicLink(Source("sub", "escape"), outside);
        else
            File.CreateSymbolicLink(Source("sub", "escape"), Path.Combine("..", "..", "secret", "key.txt"));

        var e = await Assert.ThrowsAsync<ArtifactException>(() => _h.SaveAsync(new DirectoryInfo(Source()), typeof(DirectoryInfo)));

        Assert.Contains("sub/escape", e.Message);
        Assert.False(await _h.Store.ExistsAsync("artifacts/1"));
    }

    [Fact]
    public async Task Refuses_a_link_back_into_itself()
    {
        WriteFile("a/file.txt", "x");
        Directory.CreateSymbolicLink(Source("a", "loop"), Source());

        await Assert.ThrowsAsync<ArtifactException>(() => _h.SaveAsync(new DirectoryInfo(Source()), typeof(DirectoryInfo)));
    }

    [Fact]
    public async Task Refuses_a_missing_directory()
    {
        await Assert.ThrowsAsync<ArtifactException>(() => _h.SaveAsync(new DirectoryInfo(Source()), typeof(DirectoryInfo)));
    }
}
