namespace Strata.StepOperators;

/// <summary>
/// Follows a submitted job to its end, the one way every job is followed (by the orchestrator and by
/// <see cref="StepOperator.LaunchAsync"/>): polls the operator with backoff from 100 ms up to 2 s, applies the pending
/// timeout (from submission while the job is queued) and the step timeout (from when it first runs), and when either
/// passes or the caller cancels, cancels the job and waits until the backend says it stopped. Time comes from the
/// given clock only.
/// </summary>
internal sealed class StepJobFollower(StepOperator op, StepJob job, TimeProvider time)
{
    public static TimeSpan FirstDelay { get; } = TimeSpan.FromMilliseconds(100);
    public static TimeSpan MaxDelay { get; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a cancelled job may take to report that it stopped before the wait gives up with a warning.</summary>
    public static TimeSpan StopWait { get; } = TimeSpan.FromMinutes(1);

    /// <summary>How long the job may run once started.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How long the job may wait in the backend's queue, counted from <see cref="SubmittedAt"/>.</summary>
    public TimeSpan? PendingTimeout { get; init; }

    public DateTimeOffset SubmittedAt { get; init; }

    /// <summary>The step's name, for messages.</summary>
    public string Step { get; init; } = "";

    /// <summary>Called when the job is queued with a new reason.</summary>
    public Action<StepJobStatus>? Queued { get; init; }

    /// <summary>Called once, when the job is first seen running after it was queued.</summary>
    public Action? StartedAfterQueue { get; init; }

    /// <summary>Called when a cancelled job did not report stopping within <see cref="StopWait"/>.</summary>
    public Action<string>? Warning { get; init; }

    public static TimeSpan Next(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, (long)(delay.Ticks * 1.5)));

    /// <summary>Submits within the pending timeout: a submit that blocks (an operator waiting for a slot) counts as pending.</summary>
    public static async Task<StepJob> SubmitAsync(StepOperator op, StepLaunch launch, TimeProvider time, CancellationToken cancellationToken)
    {
        using var limit = launch.PendingTimeout is { } pending ? new CancellationTokenSource(pending, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        try
        {
            return op.SubmitWindow is { } window
                ? await op.GathererFor(window, time).SubmitAsync(launch, linked.Token).ConfigureAwait(false)
                : await op.SubmitAsync(launch, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new StepTimeoutException($"step '{launch.StepName}' could not be submitted to '{op.Name}' within the pending timeout {launch.PendingTimeout}",
                pending: true);
        }
    }

    /// <summary>
    /// Waits for the job to end and returns its final status.
    /// </summary>
    /// <exception cref="StepTimeoutException">A timeout passed; the job was cancelled and has stopped.</exception>
    /// <exception cref="OperationCanceledException">The caller cancelled; the job was cancelled and has stopped.</exception>
    public async Task<StepJobStatus> FollowAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset? runningSince = null;
        string? lastReason = null;
        var wasQueued = false;
        try
        {
            var delay = FirstDelay;
            while (true)
            {
                var status = await op.GetStatusAsync(job, cancellationToken).ConfigureAwait(false);
                if (status.IsFinished) return status;
                var now = time.GetUtcNow();
                if (status.State == StepJobState.Queued)
                {
                    if (!wasQueued || status.Reason != lastReason) Queued?.Invoke(status);
                    wasQueued = true;
                    lastReason = status.Reason;
                    if (PendingTimeout is { } pending && now - SubmittedAt > pending)
                    {
                        await CancelAndWaitAsync().ConfigureAwait(false);
                        throw new StepTimeoutException($"job {job.JobId} waited longer than the pending timeout {pending} on step operator " +
                            $"'{op.Name}'{(status.Reason is null ? "" : $" ({status.Reason})")} and was cancelled", pending: true);
                    }
                }
                else
                {
                    if (runningSince is null)
                    {
                        runningSince = now;
                        if (wasQueued) StartedAfterQueue?.Invoke();
                    }
                    if (Timeout is { } limit && now - runningSince > limit)
                    {
                        await CancelAndWaitAsync().ConfigureAwait(false);
                        throw new StepTimeoutException($"step '{Step}' ran longer than its timeout {limit} on step operator '{op.Name}' (job {job.JobId}) " +
                            "and was cancelled", pending: false);
                    }
                }
                await op.WaitForChangeAsync(job, delay, time, cancellationToken).ConfigureAwait(false);
                delay = Next(delay);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CancelAndWaitAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Cancels the job and waits (up to <see cref="StopWait"/>) until the backend says it stopped, so nothing is left running.</summary>
    public async Task CancelAndWaitAsync()
    {
        await op.CancelAsync(job, CancellationToken.None).ConfigureAwait(false);
        using var limit = new CancellationTokenSource(StopWait, time);
        try
        {
            var delay = FirstDelay;
            while (!(await op.GetStatusAsync(job, limit.Token).ConfigureAwait(false)).IsFinished)
            {
                await op.WaitForChangeAsync(job, delay, time, limit.Token).ConfigureAwait(false);
                delay = Next(delay);
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            Warning?.Invoke($"job {job.JobId} on step operator '{op.Name}' did not report stopping within {StopWait.TotalMinutes:0} minute(s) of being " +
                "cancelled");
        }
    }
}
