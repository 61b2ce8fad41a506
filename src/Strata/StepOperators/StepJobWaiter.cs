namespace Strata;

/// <summary>Polls a job until it ends, with backoff from 100 ms up to 2 s. Cancelling stops the job.</summary>
internal static class StepJobWaiter
{
    public static TimeSpan FirstDelay { get; } = TimeSpan.FromMilliseconds(100);
    public static TimeSpan MaxDelay { get; } = TimeSpan.FromSeconds(2);

    public static TimeSpan Next(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, (long)(delay.Ticks * 1.5)));

    public static async Task<StepJobStatus> WaitAsync(StepOperator op, StepJob job, TimeProvider time, CancellationToken cancellationToken)
    {
        var delay = FirstDelay;
        while (true)
        {
            StepJobStatus status;
            try
            {
                status = await op.GetStatusAsync(job, cancellationToken).ConfigureAwait(false);
                if (status.IsFinished) return status;
                await op.WaitForChangeAsync(job, delay, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await op.CancelAsync(job, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            delay = Next(delay);
        }
    }
}
