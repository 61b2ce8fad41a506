namespace Strata.Artifacts;

/// <summary>Private local directories for files on their way to or from a remote store.</summary>
public static class StagingDirectory
{
    /// <summary>Creates a new empty directory under the temporary directory.</summary>
    public static string Create()
    {
        var dir = Path.Combine(Path.GetTempPath(), "strata-staging", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Removes <paramref name="dir"/> and everything in it, quietly: a leftover temporary directory is no error.</summary>
    public static void Delete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A downloaded and verified artifact in a staging directory, removed on dispose.</summary>
public sealed class StagedArtifactReader : IArtifactReader
{
    private readonly string _directory;
    private readonly HashSet<string> _names;

    /// <summary>Reads <paramref name="files"/> (normalized relative names) from <paramref name="directory"/>, which it owns.</summary>
    public StagedArtifactReader(string directory, IReadOnlyList<string> files)
    {
        _directory = directory;
        Files = files;
        _names = new HashSet<string>(files, StringComparer.Ordinal);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Files { get; }

    /// <inheritdoc />
    public string LocalDirectory => _directory;

    /// <inheritdoc />
    public Stream OpenFile(string name)
    {
        var relative = ArtifactPath.Normalize(name);
        if (!_names.Contains(relative))
            throw new ArtifactException($"The artifact has no file '{name}'.");
        return new FileStream(Path.Combine(_directory, relative.Replace('/', Path.DirectorySeparatorChar)), FileMode.Open, FileAccess.Read,
            FileShare.Read, 1 << 16, FileOptions.SequentialScan);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        StagingDirectory.Delete(_directory);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Parallel transfers that fail whole: the first failure stops the siblings and is the one reported.</summary>
public static class FailFast
{
    /// <summary>
    /// Runs <paramref name="action"/> for every item, at most <paramref name="maxConcurrency"/> at once; the first failure cancels
    /// the others and is rethrown, not the cancellations it caused.
    /// </summary>
    public static async Task ForAllAsync<T>(IEnumerable<T> items, int maxConcurrency, Func<T, CancellationToken, Task> action,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(action);
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var gate = new SemaphoreSlim(Math.Max(1, maxConcurrency));
        var tasks = items.Select(async item =>
        {
            await gate.WaitAsync(failFast.Token).ConfigureAwait(false);
            try
            {
                await action(item, failFast.Token).ConfigureAwait(false);
            }
            catch
            {
                await failFast.CancelAsync().ConfigureAwait(false);
                throw;
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Report the transfer that failed first, not a sibling cancelled because of it.
            throw tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException)
                ?? throw new InvalidOperationException("A transfer was cancelled.");
        }
    }
}
