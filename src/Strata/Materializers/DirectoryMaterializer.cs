namespace Strata.Artifacts;

/// <summary>
/// A <see cref="DirectoryInfo"/>: every file of the tree is copied into the artifact under its relative path.
/// Loading gives the artifact's local directory: read it, do not change it.
/// </summary>
/// <remarks>
/// A symbolic link is followed when it leads to somewhere inside the directory and refused when it leads outside
/// (that would copy files the user did not mean to store) or back up into itself (an endless tree).
/// Empty subdirectories are not kept: an artifact holds files.
/// </remarks>
internal sealed class DirectoryMaterializer : Materializer<DirectoryInfo>
{
    public override string Name => "strata.directory";

    protected override async Task SaveAsync(DirectoryInfo value, IArtifactWriter writer, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(value.FullName).TrimEnd(Path.DirectorySeparatorChar);
        if (!Directory.Exists(root))
            throw new ArtifactException($"Cannot store the directory {root}: it does not exist.");
        var realRoot = new DirectoryInfo(root).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? root;
        await CopyAsync(realRoot, realRoot, "", [realRoot], writer, cancellationToken).ConfigureAwait(false);
    }

    // root and directory are real paths (links resolved); prefix is directory's path inside the artifact ("" or
    // ending with '/'); ancestors are the real paths being copied, to refuse a link back into one of them.
    private static async Task CopyAsync(string root, string directory, string prefix, HashSet<string> ancestors, IArtifactWriter writer,
        CancellationToken cancellationToken)
    {
        foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = prefix + entry.Name;
            var real = entry.FullName;
            if (entry.LinkTarget is not null)
            {
                real = entry.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "";
                if (real != root && !real.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    throw new ArtifactException($"Cannot store the directory {root}: '{name}' is a link to {real}, outside the directory.");
            }

            if (Directory.Exists(real))
            {
                if (!ancestors.Add(real))
                    throw new ArtifactException($"Cannot store the directory {root}: '{name}' is a link back into {real}, which would make an endless tree.");
                await CopyAsync(root, real, name + "/", ancestors, writer, cancellationToken).ConfigureAwait(false);
                ancestors.Remove(real);
            }
            else if (File.Exists(real))
            {
                await using var source = new FileStream(real, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                await using var target = writer.CreateFile(name);
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                throw new ArtifactException($"Cannot store the directory {root}: '{name}' is a link to {real}, which does not exist.");
            }
        }
    }

    protected override Task<DirectoryInfo> LoadAsync(IArtifactReader reader, CancellationToken cancellationToken) =>
        Task.FromResult(new DirectoryInfo(reader.LocalDirectory));
}
