namespace Strata.Artifacts;

/// <summary>
/// A <see cref="FileInfo"/>: the file is copied into the artifact under its own name. Loading gives a
/// <see cref="FileInfo"/> inside the artifact's local directory: read it, do not change it.
/// </summary>
internal sealed class FileMaterializer : Materializer<FileInfo>
{
    public override string Name => "strata.file";

    protected override async Task SaveAsync(FileInfo value, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        value.Refresh();
        if (!value.Exists)
            throw new ArtifactException($"Cannot store the file {value.FullName}: it does not exist.");
        await using var source = new FileStream(value.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        await using var target = writer.CreateFile(value.Name);
        await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
    }

    protected override Task<FileInfo> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken)
    {
        if (reader.Files.Count != 1)
            throw new ArtifactException($"The file artifact at {reader.LocalDirectory} holds {reader.Files.Count} files instead of one.");
        var path = Path.Combine(reader.LocalDirectory, reader.Files[0].Replace('/', Path.DirectorySeparatorChar));
        return Task.FromResult(new FileInfo(path));
    }
}
