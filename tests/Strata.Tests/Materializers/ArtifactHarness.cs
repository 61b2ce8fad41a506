using Strata.Tests.Support;

namespace Strata.Tests.Materializers;

/// <summary>A real <see cref="LocalArtifactStore"/> in a temporary directory and a fresh registry, to save and load values.</summary>
public sealed class ArtifactHarness : IDisposable
{
    private int _count;

    public ArtifactHarness()
    {
        Store = new LocalArtifactStore(Temp.Combine("store"));
    }

    public TempDirectory Temp { get; } = new("strata-materializers");
    public LocalArtifactStore Store { get; }
    public MaterializerRegistry Registry { get; } = new();

    /// <summary>Saves with the materializer the registry picks for <paramref name="type"/>; returns the path and its name.</summary>
    public async Task<(string Path, string Materializer)> SaveAsync(object value, Type type)
    {
        var materializer = Registry.Get(type);
        var path = $"artifacts/{Interlocked.Increment(ref _count)}";
        await Store.WriteArtifactAsync(path, (writer, ct) => materializer.SaveAsync(value, type, writer, ct));
        return (path, materializer.Name);
    }

    /// <summary>Loads with the materializer named at save time, as a later run would.</summary>
    public async Task<object> LoadAsync(string path, string materializer, Type type)
    {
        await using var reader = await Store.OpenArtifactAsync(path);
        return await Registry.GetByName(materializer).LoadAsync(type, reader, CancellationToken.None);
    }

    public async Task<(object Value, string Materializer)> RoundTripAsync(object value, Type type)
    {
        var (path, name) = await SaveAsync(value, type);
        return (await LoadAsync(path, name, type), name);
    }

    public async Task<T> RoundTripAsync<T>(T value, string expectedMaterializer) where T : notnull
    {
        var (loaded, name) = await RoundTripAsync(value, typeof(T));
        Assert.Equal(expectedMaterializer, name);
        return Assert.IsAssignableFrom<T>(loaded);
    }

    /// <summary>The published file of an artifact, to inspect or corrupt it.</summary>
    public string FileOf(string path, string name) => Path.Combine(Store.FullPathOf(path), name);

    public void Dispose() => Temp.Dispose();
}
