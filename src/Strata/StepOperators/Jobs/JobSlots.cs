using System.Collections.Concurrent;

namespace Strata.StepOperators;

/// <summary>
/// At most so many jobs of an operator at once: <see cref="WaitAsync"/> before submitting a step's job, and
/// <see cref="Release"/> when the job is over (in <see cref="StepOperator.CleanupAsync"/>). A step run holds at most
/// one slot, and releasing it twice (or one it never took) does nothing, so cleanup may run more than once.
/// </summary>
public sealed class JobSlots : IDisposable
{
    private readonly SemaphoreSlim? _slots;
    private readonly ConcurrentDictionary<string, bool> _holders = new(StringComparer.Ordinal);

    /// <param name="limit">The most jobs at once; 0 or less for no limit.</param>
    public JobSlots(int limit)
    {
        if (limit > 0) _slots = new SemaphoreSlim(limit, limit);
        Limit = limit > 0 ? limit : null;
    }

    /// <summary>The limit, or null for none.</summary>
    public int? Limit { get; }

    /// <summary>Waits for a free slot for <paramref name="stepRunId"/>; returns at once when it holds one already.</summary>
    public async Task WaitAsync(string stepRunId, CancellationToken cancellationToken = default)
    {
        if (_slots is null || _holders.ContainsKey(stepRunId)) return;
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!_holders.TryAdd(stepRunId, true)) _slots.Release();
    }

    /// <summary>Gives the step run's slot back, if it holds one.</summary>
    public void Release(string stepRunId)
    {
        if (_holders.TryRemove(stepRunId, out _)) _slots?.Release();
    }

    public void Dispose() => _slots?.Dispose();
}
