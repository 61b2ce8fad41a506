namespace Strata.StepOperators;

/// <summary>Polls a job until it ends, with backoff from 100 ms up to 2 s. Cancelling stops the job.</summary>
internal static class StepJobWaiter
{
    public static TimeSpan FirstDelay { get; } = TimeSpan.FromMilliseconds(100);
    public static TimeSpan MaxDelay { get; } = TimeSpan.FromSeconds(2);

    public static TimeSpan Next(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, (long)(delay.Ticks * 1.5)));

    /// <summary>Cancelling <paramref name="cancellationToken"/> cancels the job (without waiting for it to stop).</summary>
    public static async Task<StepJobStatus> WaitAsync(StepOperator op, StepJob job, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            return await PollAsync(op, job, time, null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await op.CancelAsync(job, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Polls until the job ends and returns its final status. <paramref name="whileActive"/> sees each status of the job
    /// while it has not ended; it may throw to stop waiting.
    /// </summary>
    public static async Task<StepJobStatus> PollAsync(StepOperator op, StepJob job, TimeProvider time, Func<StepJobStatus, Task>? whileActive, CancellationToken cancellationToken)
    {
        var delay = FirstDelay;
        while (true)
        {
            var status = await op.GetStatusAsync(job, cancellationToken).ConfigureAwait(false);
            if (status.IsFinished) return status;
            if (whileActive is not null) await whileActive(status).ConfigureAwait(false);
            await op.WaitForChangeAsync(job, delay, time, cancellationToken).ConfigureAwait(false);
            delay = Next(delay);
        }
    }
}
