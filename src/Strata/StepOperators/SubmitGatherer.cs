namespace Strata.StepOperators;

/// <summary>
/// Gathers the launches of one operator that gathers (<see cref="StepOperator.SubmitWindow"/>) and hands them over together
/// to <see cref="StepOperator.SubmitManyAsync"/>: a gathering ends when no launch has come for the window (and at most ten
/// windows after its first launch). A launch whose caller cancels while it is gathered is dropped; once handed over it
/// is submitted, and its caller gets its handle (and cancels the job through it). When the operator fails the whole
/// handover, each launch is submitted again alone, so every step gets its own outcome. Time comes from the given clock.
/// </summary>
internal sealed class SubmitGatherer(StepOperator op, TimeSpan window, TimeProvider time)
{
    private readonly Lock _lock = new();
    private List<Gathered>? _open;
    private DateTimeOffset _first;
    private DateTimeOffset _last;

    private sealed record Gathered(StepLaunch Launch, TaskCompletionSource<StepJob> Job, CancellationToken CancellationToken);

    /// <summary>The most a gathering lasts, in windows.</summary>
    public const int MaxWindows = 10;

    public async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var gathered = new Gathered(launch, new TaskCompletionSource<StepJob>(TaskCreationOptions.RunContinuationsAsynchronously), cancellationToken);
        bool first;
        lock (_lock)
        {
            first = _open is null;
            (_open ??= []).Add(gathered);
            _last = time.GetUtcNow();
            if (first) _first = _last;
        }
        if (first) _ = GatherAsync();
        await using var registration = cancellationToken.Register(() =>
        {
            lock (_lock)
                if (_open?.Remove(gathered) != true) return;
            gathered.Job.TrySetCanceled(cancellationToken);
        }).ConfigureAwait(false);
        return await gathered.Job.Task.ConfigureAwait(false);
    }

    private async Task GatherAsync()
    {
        List<Gathered> batch;
        while (true)
        {
            TimeSpan wait;
            lock (_lock)
            {
                var due = _last + window < _first + window * MaxWindows ? _last + window : _first + window * MaxWindows;
                wait = due - time.GetUtcNow();
                if (wait <= TimeSpan.Zero)
                {
                    batch = _open ?? [];
                    _open = null;
                    break;
                }
            }
            await Task.Delay(wait, time, CancellationToken.None).ConfigureAwait(false);
        }
        if (batch.Count == 0) return;
        try
        {
            var jobs = await op.SubmitManyAsync(batch.Select(g => g.Launch).ToArray(), CancellationToken.None).ConfigureAwait(false);
            if (jobs.Count != batch.Count)
                throw new InvalidOperationException($"Step operator '{op.Name}' returned {jobs.Count} handle(s) for {batch.Count} launch(es).");
            for (var i = 0; i < batch.Count; i++) batch[i].Job.TrySetResult(jobs[i]);
        }
        catch (Exception e) when (batch.Count == 1 && e is not OutOfMemoryException)
        {
            batch[0].Job.TrySetException(e);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            await Task.WhenAll(batch.Select(SubmitAloneAsync)).ConfigureAwait(false);
        }
    }

    private async Task SubmitAloneAsync(Gathered gathered)
    {
        try
        {
            gathered.Job.TrySetResult(await op.SubmitAsync(gathered.Launch, gathered.CancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (gathered.CancellationToken.IsCancellationRequested)
        {
            gathered.Job.TrySetCanceled(gathered.CancellationToken);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            gathered.Job.TrySetException(e);
        }
    }
}
