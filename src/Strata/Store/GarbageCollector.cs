namespace Strata.Store;

/// <summary>One thing on disk that <c>strata gc</c> removes (or, in a dry run, would remove).</summary>
public sealed class Leftover
{
    public Leftover(string kind, string path, long bytes, string reason)
    {
        Kind = kind;
        Path = path;
        Bytes = bytes;
        Reason = reason;
    }

    /// <summary>One of <see cref="LeftoverKinds"/>.</summary>
    public string Kind { get; }

    /// <summary>The absolute path of the file or directory.</summary>
    public string Path { get; }

    /// <summary>The bytes of every file in it.</summary>
    public long Bytes { get; }

    /// <summary>Why it is a leftover, for people.</summary>
    public string Reason { get; }
}

/// <summary>The kinds of <see cref="Leftover"/>.</summary>
public static class LeftoverKinds
{
    /// <summary>A step's working directory (<c>local-process</c>, <c>slurm</c> or in-process) whose run is over.</summary>
    public const string WorkingDirectory = "working-directory";

    /// <summary>The directory of a standby step process that is no longer running.</summary>
    public const string Standby = "standby";

    /// <summary>A temporary file or directory of a write to a local artifact store that never finished.</summary>
    public const string TempArtifact = "temp-artifact";

    /// <summary>An artifact in a local artifact store that no record names, in the directory of a run that is over.</summary>
    public const string OrphanedArtifact = "orphaned-artifact";
}

/// <summary>What a garbage collection found and removed.</summary>
public sealed class GarbageCollection
{
    public GarbageCollection(IReadOnlyList<Leftover> items, bool dryRun, IReadOnlyList<string> failures)
    {
        Items = items;
        DryRun = dryRun;
        Failures = failures;
    }

    /// <summary>Every leftover found; removed unless <see cref="DryRun"/> (or listed in <see cref="Failures"/>).</summary>
    public IReadOnlyList<Leftover> Items { get; }

    /// <summary>Whether nothing was removed (only listed).</summary>
    public bool DryRun { get; }

    /// <summary>Leftovers that could not be removed, each with why.</summary>
    public IReadOnlyList<string> Failures { get; }

    /// <summary>The bytes of every item.</summary>
    public long Bytes => Items.Sum(i => i.Bytes);
}

/// <summary>
/// Finds what Strata leaves on disk once runs are over: step working directories, the directories of standby
/// processes that ended, temporary files of writes that never finished, and artifacts no record names. Nothing that
/// belongs to a run still running is touched: a working directory only goes when its step run's run is over (or,
/// for a standby, when no process runs in it), a temporary file only when it was last written before every running
/// run started, an unnamed artifact only when its run is over.
/// </summary>
internal sealed class GarbageCollector(StrataHome home, IMetadataStore store, TimeProvider time)
{
    private const string StoreTempDirectory = ".tmp";
    private static readonly TimeSpan StartGrace = TimeSpan.FromMinutes(1);

    public async Task<GarbageCollection> CollectAsync(bool dryRun, CancellationToken cancellationToken)
    {
        var runs = await store.ListRunsAsync(null, int.MaxValue, cancellationToken).ConfigureAwait(false);
        var running = runs.Where(r => !r.Status.IsFinished()).ToArray();
        // A temporary file last written before every running run started cannot be one of theirs.
        var cutoff = running.Length == 0 ? time.GetUtcNow() : running.Min(r => r.StartedAt);
        var runsById = runs.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var components = await store.ListComponentsAsync(null, cancellationToken).ConfigureAwait(false);
        var busy = DirectoriesInUse();

        var items = new List<Leftover>();
        foreach (var root in StepRoots(components))
            await FindInStepRootAsync(root, runsById, busy, items, cancellationToken).ConfigureAwait(false);
        foreach (var root in ArtifactRoots(components))
            await FindInArtifactRootAsync(root, cutoff, items, cancellationToken).ConfigureAwait(false);

        var failures = new List<string>();
        if (!dryRun)
        {
            foreach (var item in items)
            {
                try
                {
                    if (Directory.Exists(item.Path)) Directory.Delete(item.Path, recursive: true);
                    else File.Delete(item.Path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    failures.Add($"{item.Path}: {e.Message}");
                }
            }
        }
        return new GarbageCollection(items, dryRun, failures);
    }

    /// <summary>Where steps get their working directories: each step run's directory is named by its id.</summary>
    private IEnumerable<string> StepRoots(IReadOnlyList<ComponentRecord> components)
    {
        var roots = new List<string> { Path.Combine(home.Path, "steps"), InProcessStepLauncher.WorkingRoot };
        foreach (var c in components.Where(c => c.Type == ComponentType.StepOperator))
            foreach (var key in new[] { "working_directory", "work_dir" })
                if (c.Config.TryGetValue(key, out var dir) && !string.IsNullOrWhiteSpace(dir) && !dir.Contains("{{", StringComparison.Ordinal))
                    roots.Add(dir);
        return roots.Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).Where(Directory.Exists);
    }

    /// <summary>The roots of the local artifact stores: the home's default and every registered <c>local</c> store.</summary>
    private IEnumerable<string> ArtifactRoots(IReadOnlyList<ComponentRecord> components)
    {
        var roots = new List<string> { home.ArtifactsPath };
        foreach (var c in components.Where(c => c.Type == ComponentType.ArtifactStore && c.Flavor == "local"))
            if (c.Config.TryGetValue("path", out var dir) && !string.IsNullOrWhiteSpace(dir) && !dir.Contains("{{", StringComparison.Ordinal))
                roots.Add(dir);
        return roots.Select(r => Path.GetFullPath(r).TrimEnd(Path.DirectorySeparatorChar)).Distinct(StringComparer.Ordinal).Where(Directory.Exists);
    }

    private async Task FindInStepRootAsync(string root, Dictionary<string, RunRecord> runs, HashSet<string> busy, List<Leftover> items,
        CancellationToken cancellationToken)
    {
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            if (InUse(dir, busy)) continue;
            var name = Path.GetFileName(dir);
            if (name.StartsWith(StrataEntrypoint.StandbyDirectoryPrefix, StringComparison.Ordinal))
            {
                // A standby runs in its directory until it is handed a step or let go; none does any more (one just made gets a minute to start).
                if (File.Exists(Path.Combine(dir, JobDirectory.ExitCodeFile)) || busy.Count > 0 && LastWrite(dir) < time.GetUtcNow() - StartGrace)
                    items.Add(new Leftover(LeftoverKinds.Standby, dir, SizeOf(dir), "a standby step process that is no longer running"));
                continue;
            }
            var stepRun = await store.GetStepRunAsync(name, cancellationToken).ConfigureAwait(false);
            if (stepRun is null || !runs.TryGetValue(stepRun.RunId, out var run) || !run.Status.IsFinished()) continue;
            items.Add(new Leftover(LeftoverKinds.WorkingDirectory, dir, SizeOf(dir),
                $"step '{stepRun.Name}' of run '{run.Name}', which is {run.Status.ToString().ToLowerInvariant()}"));
        }
    }

    private async Task FindInArtifactRootAsync(string root, DateTimeOffset cutoff, List<Leftover> items, CancellationToken cancellationToken)
    {
        // Writes that never finished: the store's private temporary directory, and the temporary files beside small files.
        var temp = Path.Combine(root, StoreTempDirectory);
        if (Directory.Exists(temp))
            foreach (var entry in Directory.EnumerateFileSystemEntries(temp))
                if (LastWrite(entry) < cutoff)
                    items.Add(new Leftover(LeftoverKinds.TempArtifact, entry, SizeOf(entry), "an artifact write that never finished"));
        foreach (var file in Directory.EnumerateFiles(root, ".*.tmp", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            if (!file.StartsWith(temp + Path.DirectorySeparatorChar, StringComparison.Ordinal) && LastWrite(file) < cutoff)
                items.Add(new Leftover(LeftoverKinds.TempArtifact, file, SizeOf(file), "a file write that never finished"));

        // Artifacts no record names, in the directories of runs that are over: <root>/<pipeline>/<run>/<step>.<id>.<output>.
        foreach (var pipelineDir in Directory.EnumerateDirectories(root))
        {
            if (Path.GetFileName(pipelineDir) == StoreTempDirectory) continue;
            foreach (var runDir in Directory.EnumerateDirectories(pipelineDir))
            {
                var run = await store.FindRunAsync(Path.GetFileName(runDir), cancellationToken).ConfigureAwait(false);
                if (run is null || run.Pipeline != Path.GetFileName(pipelineDir) || !run.Status.IsFinished()) continue;
                var recorded = (await store.ListArtifactsAsync(run.Id, int.MaxValue, cancellationToken).ConfigureAwait(false))
                    .Select(a => a.Uri).ToHashSet(StringComparer.Ordinal);
                // A step run's own directory (<step>.<id>: a remote step's manifest, result and log) stays with its record.
                var stepRuns = (await store.ListStepRunsAsync(run.Id, cancellationToken).ConfigureAwait(false))
                    .Select(s => $"{s.Name}.{s.Id[^8..]}").ToHashSet(StringComparer.Ordinal);
                foreach (var entry in Directory.EnumerateFileSystemEntries(runDir))
                {
                    var name = Path.GetFileName(entry);
                    if (name.StartsWith(ArtifactPack.SegmentPrefix, StringComparison.Ordinal))
                    {
                        // A pack of small artifacts goes only when none of the artifacts in it is named.
                        if (!ArtifactPack.NamesIn(entry).Any(n => recorded.Contains(Path.Combine(runDir, n))))
                            items.Add(new Leftover(LeftoverKinds.OrphanedArtifact, entry, SizeOf(entry),
                                $"a pack of small artifacts no record names; run '{run.Name}' is {run.Status.ToString().ToLowerInvariant()}"));
                        continue;
                    }
                    if (recorded.Contains(entry) || stepRuns.Contains(name) || name.EndsWith(".tmp", StringComparison.Ordinal) && name.StartsWith('.'))
                        continue;
                    items.Add(new Leftover(LeftoverKinds.OrphanedArtifact, entry, SizeOf(entry),
                        $"no record names it; run '{run.Name}' is {run.Status.ToString().ToLowerInvariant()}"));
                }
            }
        }
    }

    /// <summary>The working directories of the processes on this machine (Linux: /proc/PID/cwd); empty where that cannot be read.</summary>
    private static HashSet<string> DirectoriesInUse()
    {
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/proc")) return dirs;
        foreach (var proc in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(proc), out _)) continue;
            try
            {
                if (new DirectoryInfo(Path.Combine(proc, "cwd")).LinkTarget is { } cwd) dirs.Add(cwd);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return dirs;
    }

    private static bool InUse(string dir, HashSet<string> busy) =>
        busy.Any(d => d == dir || d.StartsWith(dir + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    private static DateTimeOffset LastWrite(string path) =>
        Directory.Exists(path) ? Directory.GetLastWriteTimeUtc(path) : File.GetLastWriteTimeUtc(path);

    private static long SizeOf(string path)
    {
        if (File.Exists(path)) return new FileInfo(path).Length;
        try
        {
            return new DirectoryInfo(path).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Sum(f => f.Length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
