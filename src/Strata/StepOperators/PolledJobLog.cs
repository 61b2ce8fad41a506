using System.Runtime.CompilerServices;

namespace Strata.StepOperators;

/// <summary>
/// The loop of a <see cref="StepOperator.StreamLogsAsync"/> that polls a cloud backend for a job's new log lines (and state
/// changes): poll, yield what came, wait — briefly after lines came, longer (up to 2 s) while nothing does — until a poll says
/// the job has ended and its lines are read. A failed poll (throttling, an outage) is tried again next round; after five in a
/// row the stream ends with a line that says why: the status polls, not the log stream, decide the step.
/// </summary>
public static class PolledJobLog
{
    /// <summary>The wait after a poll that brought lines, and the first one.</summary>
    public static TimeSpan FirstDelay { get; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two polls.</summary>
    public static TimeSpan MaxDelay { get; } = TimeSpan.FromSeconds(2);

    /// <summary>How many failed polls in a row end the stream.</summary>
    public const int MaxFailures = 5;

    /// <summary>Polls until the job has ended and its lines are read, or the stream is cancelled.</summary>
    /// <param name="poll">
    /// One round: the new lines and whether the job has ended and all its lines are read; it gets how long since the last round
    /// (a status fetched within it is recent enough).
    /// </param>
    /// <param name="isTransient">Which exceptions of a round are tried again next round; others end the stream by propagating.</param>
    /// <param name="label">Starts the line that says why following stopped, e.g. <c>[vertex]</c>.</param>
    /// <param name="time">The clock of the waits.</param>
    /// <param name="cancellationToken">Ends the stream (without an exception).</param>
    public static async IAsyncEnumerable<string> FollowAsync(Func<TimeSpan, CancellationToken, Task<(IReadOnlyList<string> Lines, bool Finished)>> poll,
        Func<Exception, bool> isTransient, string label, TimeProvider time, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(poll);
        ArgumentNullException.ThrowIfNull(isTransient);
        ArgumentNullException.ThrowIfNull(time);
        var delay = FirstDelay;
        var failures = 0;
        while (true)
        {
            (IReadOnlyList<string> Lines, bool Finished) round;
            string? failure = null;
            try
            {
                round = await poll(delay, cancellationToken).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                yield break;
            }
            catch (Exception e) when (isTransient(e))
            {
                round = ([], false);
                if (++failures >= MaxFailures) failure = e.Message;
            }
            if (failure is not null)
            {
                yield return $"{label} stopped following the job's status and logs after {MaxFailures} failed attempts: {failure}";
                yield break;
            }
            foreach (var line in round.Lines) yield return line;
            if (round.Finished) yield break;
            try
            {
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            delay = round.Lines.Count > 0 ? FirstDelay : TimeSpan.FromTicks(Math.Min(MaxDelay.Ticks, (long)(delay.Ticks * 1.5)));
        }
    }
}
