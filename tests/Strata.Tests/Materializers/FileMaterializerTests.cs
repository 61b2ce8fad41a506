namespace Strata.Tests.Materializers;

public sealed class FileMaterializerTests : IDisposable
{
    private readonly ArtifactHarness _h = new();

    public void Dispose() => _h.Dispose();

    [Fact]
    public async Task Copies_the_file_keeping_its_name_and_loads_it_from_the_artifact()
    {
        var source = new FileInfo(_h.Temp.Combine("rapport été.csv"));
        await File.WriteAllTextAsync(source.FullName, "a,b\n1,2\n");

        var loaded = await _h.RoundTripAsync(source, "strata.file");

        Assert.Equal("rapport été.csv", loaded.Name);
        Assert.StartsWith(_h.Store.Root + Path.DirectorySeparatorChar, loaded.FullName);
        Assert.Equal("a,b\n1,2\n", await File.ReadAllTextAsync(loaded.FullName));
    }

    [Fact]
    public async Task Keeps_its_own_copy()
    {
        var source = new FileInfo(_h.Temp.Combine("data.bin"));
        await File.WriteAllBytesAsync(source.FullName, [1, 2, 3]);

        var loaded = await _h.RoundTripAsync(source, "strata.file");
        source.Delete();

        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(loaded.FullName));
    }

    [Fact]
    public async Task Refuses_a_missing_file()
    {
        var missing = new FileInfo(_h.Temp.Combine("nope.txt"));

        await Assert.ThrowsAsync<ArtifactException>(() => _h.SaveAsync(missing, typeof(FileInfo)));
    }
}
