namespace Strata;

/// <summary>Saves values as artifacts through their materializer, and loads them back.</summary>
internal static class ArtifactIO
{
    /// <summary>The file that marks an artifact holding null.</summary>
    private const string NullMarker = ".null";

    public static async Task<ArtifactRecord> SaveAsync(ArtifactStore store, MaterializerRegistry materializers, string path, object? value, Type type,
        string? producerStepRunId, string outputName, CancellationToken cancellationToken)
    {
        var materializer = materializers.Get(type);
        var content = await store.WriteArtifactAsync(path, async (writer, ct) =>
        {
            if (value is null)
                await writer.CreateFile(NullMarker).DisposeAsync().ConfigureAwait(false);
            else
                await materializer.SaveAsync(value, type, writer, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return new ArtifactRecord(Guid.CreateVersion7().ToString(), store.UriOf(path), TypeKey(type), materializer.Name, materializer.Version,
            content.Hash, content.Size, producerStepRunId, outputName, DateTimeOffset.UtcNow);
    }

    public static async Task<object?> LoadAsync(ArtifactStore store, MaterializerRegistry materializers, ArtifactRecord artifact, Type type, CancellationToken cancellationToken)
    {
        var materializer = materializers.GetByName(artifact.Materializer);
        await using var reader = await store.OpenArtifactAsync(store.PathOf(artifact.Uri), cancellationToken).ConfigureAwait(false);
        if (reader.Files.Contains(NullMarker)) return null;
        return await materializer.LoadAsync(type, reader, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A type name that is readable and reloadable: assembly-qualified without version details.</summary>
    public static string TypeKey(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
