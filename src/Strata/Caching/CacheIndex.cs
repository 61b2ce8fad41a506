namespace Strata;

/// <summary>
/// The cache entries a run may hit, read from the store once before its first step, one query per step definition: a
/// step then finds its entry in memory instead of asking the store, which is what a cached rerun of many steps spends its
/// time on otherwise. A key it does not hold is a miss without asking, unless the store had more entries than were read
/// (or cannot list them); then the step asks the store.
/// </summary>
internal sealed class CacheIndex
{
    private readonly IMetadataStore _store;
    private readonly Dictionary<string, CachedStepRun> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<(string FullName, string CodeVersion)> _complete = [];

    private CacheIndex(IMetadataStore store) => _store = store;

    /// <summary>More entries than steps are read, so a few earlier inputs of each step are found too; beyond that, the store is asked.</summary>
    private static int LimitFor(int steps) => 4 * steps + 64;

    public static async Task<CacheIndex> LoadAsync(IMetadataStore store, IEnumerable<StepNode> nodes, CancellationToken cancellationToken)
    {
        var index = new CacheIndex(store);
        var definitions = nodes.Where(n => n.Definition.EnableCache)
            .GroupBy(n => (n.Definition.FullName, n.Definition.CodeVersion))
            .Select(g => (g.Key, Limit: LimitFor(g.Count())));
        foreach (var (definition, limit) in definitions)
        {
            (IReadOnlyList<CachedStepRun> Entries, bool Complete)? listed;
            try
            {
                listed = await store.ListCachedAsync(definition.FullName, definition.CodeVersion, limit, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                continue; // each step asks the store itself, and fails as it would have if the store refuses again
            }
            if (listed is not { } read) continue;
            foreach (var entry in read.Entries) index._entries.TryAdd(entry.CacheKey, entry);
            if (read.Complete) index._complete.Add(definition);
        }
        return index;
    }

    /// <summary>The latest successful step run of <paramref name="step"/> with this key and its outputs, or null.</summary>
    public async ValueTask<(string StepRunId, IReadOnlyList<StepArtifactLink> Outputs)?> FindAsync(StepDefinition step, string cacheKey,
        CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(cacheKey, out var entry)) return (entry.StepRunId, entry.Outputs);
        if (_complete.Contains((step.FullName, step.CodeVersion))) return null;
        return await _store.FindCachedAsync(cacheKey, cancellationToken).ConfigureAwait(false) is { } hit ? (hit.StepRun.Id, hit.Outputs) : null;
    }
}
