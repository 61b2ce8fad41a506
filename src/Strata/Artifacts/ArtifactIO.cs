namespace Strata.Artifacts;

/// <summary>Saves values as artifacts through their materializer, and loads them back.</summary>
internal static class ArtifactIO
{
    /// <summary>The file that marks an artifact holding null.</summary>
    private const string NullMarker = ".null";

    /// <summary>Values whose files come to at most this many bytes are turned into bytes in memory before they are written.</summary>
    public const int MaxBytesInMemory = 256 * 1024;

    /// <summary>
    /// Saves a value as an artifact. A value whose files are small is turned into bytes in memory first, so a
    /// one-file artifact is written as that file alone (see <see cref="ArtifactStore.SingleFilePathOf"/>).
    /// </summary>
    public static async Task<ArtifactRecord> SaveAsync(ArtifactStore store, MaterializerRegistry materializers, string path, object? value, Type type,
        string? producerStepRunId, string outputName, CancellationToken cancellationToken)
    {
        var (record, write) = await PrepareAsync(store, materializers, path, value, type, producerStepRunId, outputName,
            cancellationToken).ConfigureAwait(false);
        if (write is not null) await write().ConfigureAwait(false);
        return record;
    }

    /// <summary>
    /// The record of a value's artifact and, for a small value, the write still to do (its bytes are in memory and
    /// hashed). A larger value is streamed to the store here, and no write is left.
    /// </summary>
    private static async Task<(ArtifactRecord Record, Func<Task>? Write)> PrepareAsync(ArtifactStore store, MaterializerRegistry materializers, string path,
        object? value, Type type, string? producerStepRunId, string outputName, CancellationToken cancellationToken)
    {
        var materializer = materializers.Get(type);
        var buffer = new MemoryArtifactWriter(MaxBytesInMemory);
        try
        {
            await WriteValueAsync(materializer, value, type, buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (buffer.Overflowed)
        {
        }
        if (buffer.Overflowed)
        {
            var content = await store.WriteArtifactAsync(path, (writer, ct) => WriteValueAsync(materializer, value, type, writer, ct),
                cancellationToken).ConfigureAwait(false);
            return (Record(store, path, type, materializer, content, producerStepRunId, outputName), null);
        }
        var files = buffer.Files;
        var single = files.Count == 1 && materializer.OpensFilesByName ? store.SingleFilePathOf(path, files[0].Name) : null;
        var record = Record(store, single ?? path, type, materializer, buffer.Hasher.Result(), producerStepRunId, outputName);
        return (record, single is null
            ? () => store.WriteArtifactAsync(path, buffer.CopyToAsync, CancellationToken.None)
            : () => store.WriteFileAsync(single, files[0].Content, CancellationToken.None));
    }

    private static async Task WriteValueAsync(Materializer materializer, object? value, Type type, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        if (value is null)
            await writer.CreateFile(NullMarker).DisposeAsync().ConfigureAwait(false);
        else
            await materializer.SaveAsync(value, type, writer, cancellationToken).ConfigureAwait(false);
    }

    private static ArtifactRecord Record(ArtifactStore store, string path, Type type, Materializer materializer, ArtifactContent content,
        string? producerStepRunId, string outputName) =>
        new(Ids.New(), store.UriOf(path), TypeKey(type), materializer.Name, materializer.Version,
            content.Hash, content.Size, producerStepRunId, outputName, TimeProvider.System.GetUtcNow());

    /// <summary>Loads a value, checking the artifact against its recorded content hash as it is read.</summary>
    /// <exception cref="ArtifactException">The artifact is missing, or was changed or corrupted in the store.</exception>
    public static Task<object?> LoadAsync(ArtifactStore store, MaterializerRegistry materializers, ArtifactRecord artifact, Type type,
        CancellationToken cancellationToken)
    {
        var materializer = materializers.GetByName(artifact.Materializer);
        return store.ReadArtifactAsync<object?>(store.PathOf(artifact.Uri), artifact.ContentHash, async (reader, ct) =>
            reader.Files.Contains(NullMarker) ? null : await materializer.LoadAsync(type, reader, ct).ConfigureAwait(false), cancellationToken);
    }

    /// <summary>A type name that is readable and reloadable: assembly-qualified without version details.</summary>
    public static string TypeKey(Type type) => TypeKeys.GetValue(type, t => $"{t.FullName}, {t.Assembly.GetName().Name}");

    // Every output of every step names its type: Assembly.GetName() parses the assembly's identity each time it is called.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Type, string> TypeKeys = new();
}
