namespace Strata.StepOperators;

/// <summary>
/// Gathers the launches of one operator that gathers (<see cref="StepOperator.SubmitWindow"/>) and hands them over together
/// to <see cref="StepOperator.SubmitManyAsync"/>: a gathering ends when no launch has come for the window (and at most ten
/// windows after its first launch). A launch whose caller cancels while it is gathered is dropped; once handed over it
/// is submitted, and its caller gets its handle (and cancels the job through it). When the operator fails the whole
/// handover, each launch is submitted again alone, so every step gets its own outcome. Time comes from the given clock.
/// </summary>
/// <remarks>
/// A run says which of its steps are on their way here (<see cref="Expect"/>: their inputs are ready) and which of those
/// will not come after all (<see cref="Abandon"/>: a cache hit, a failure before the launch). Once every step it expects
/// has come, nothing else can until a step ends, and the gathering is handed over without waiting out its window.
/// </remarks>
internal sealed class SubmitGatherer(StepOperator op, TimeSpan window, TimeProvider time)
{
    private readonly Lock _lock = new();
    private List<Gathered>? _open;
    private DateTimeOffset _first;
    private DateTimeOffset _last;
    private readonly HashSet<string> _expected = new(StringComparer.Ordinal);
    private bool _told; // whether a run says which launches to expect; without it, only the window ends a gathering
    private TaskCompletionSource _complete = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record Gathered(StepLaunch Launch, TaskCompletionSource<StepJob> Job, CancellationToken CancellationToken);

    /// <summary>The most a gathering lasts, in windows.</summary>
    public const int MaxWindows = 10;

    /// <summary>The step's inputs are ready: its launch is on its way.</summary>
    public void Expect(string step)
    {
        lock (_lock)
        {
            _told = true;
            _expected.Add(step);
        }
    }

    /// <summary>The step will not be launched after all (or was already): it is no longer waited for.</summary>
    public void Abandon(string step)
    {
        lock (_lock)
            if (_expected.Remove(step)) CompleteIfAllCame();
    }

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
            _expected.Remove(launch.StepName);
            CompleteIfAllCame();
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

    /// <summary>Under the lock: ends the open gathering now when the run expects no other launch.</summary>
    private void CompleteIfAllCame()
    {
        if (_told && _expected.Count == 0 && _open is not null) _complete.TrySetResult();
    }

    private async Task GatherAsync()
    {
        List<Gathered> batch;
        while (true)
        {
            TimeSpan wait;
            Task complete;
            lock (_lock)
            {
                var due = _last + window < _first + window * MaxWindows ? _last + window : _first + window * MaxWindows;
                wait = due - time.GetUtcNow();
                if (wait <= TimeSpan.Zero || _complete.Task.IsCompleted)
                {
                    batch = _open ?? [];
                    _open = null;
                    if (_complete.Task.IsCompleted) _complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    break;
                }
                complete = _complete.Task;
            }
            using var stop = new CancellationTokenSource();
            await Task.WhenAny(Task.Delay(wait, time, stop.Token), complete).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
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
