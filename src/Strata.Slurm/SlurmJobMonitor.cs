namespace Strata.Slurm;

/// <summary>
/// Answers "what is job N doing" for many concurrent steps with few Slurm requests: every query asks about all the
/// jobs being followed at once, and an answer younger than <see cref="MaxAge"/> is reused. Ten steps polling every
/// 100 ms then cost a few squeue calls a second instead of a hundred process starts.
/// </summary>
internal sealed class SlurmJobMonitor(ISlurmTransport transport, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _followed = new(StringComparer.Ordinal);
    private Snapshot? _last;
    private Task<Snapshot>? _running;

    /// <summary>How long an answer is reused.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMilliseconds(400);

    private sealed record Snapshot(DateTimeOffset At, IReadOnlySet<string> Asked, IReadOnlyDictionary<string, SlurmJobState> States);

    /// <summary>The job's state, or null when Slurm no longer knows it.</summary>
    public async Task<SlurmJobState?> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<Snapshot> query;
            lock (_lock)
            {
                _followed.Add(jobId);
                if (_last is { } last && last.Asked.Contains(jobId) && time.GetUtcNow() - last.At < MaxAge)
                    return last.States.GetValueOrDefault(jobId);
                _running ??= QueryAsync(new HashSet<string>(_followed, StringComparer.Ordinal));
                query = _running;
            }
            // A query already on its way without this job: wait for it, then ask again (the next one includes it).
            var snapshot = await query.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (snapshot.Asked.Contains(jobId)) return snapshot.States.GetValueOrDefault(jobId);
        }
    }

    /// <summary>Stops following a job (it ended and was cleaned up).</summary>
    public void Forget(string jobId)
    {
        lock (_lock) _followed.Remove(jobId);
    }

    /// <summary>Drops the cached answer, so the next question goes to Slurm (after a cancel, say).</summary>
    public void Invalidate()
    {
        lock (_lock) _last = null;
    }

    private async Task<Snapshot> QueryAsync(HashSet<string> asked)
    {
        // Returns to the caller (who holds the lock) before anything else happens, so _running is set before it is cleared.
        await Task.Yield();
        try
        {
            // Not the caller's token: other callers share this query.
            var states = await transport.GetJobsAsync(asked, CancellationToken.None).ConfigureAwait(false);
            var snapshot = new Snapshot(time.GetUtcNow(), asked, states);
            lock (_lock) _last = snapshot;
            return snapshot;
        }
        finally
        {
            lock (_lock) _running = null;
        }
    }
}
