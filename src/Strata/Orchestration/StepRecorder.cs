using System.Threading.Channels;

namespace Strata;

/// <summary>
/// Writes a run's step-run records behind its steps. A step hands its records over and goes on; one loop commits them
/// in the order they were handed over, all that are waiting in one transaction, so a run of many short steps costs a
/// few commits rather than two per step.
/// </summary>
/// <remarks>
/// Order is what keeps the records consistent: a step's records are handed over before the steps that read its
/// outputs start, so a step run never names an artifact the store does not hold yet. A step hands its end over only
/// once its outputs are in the artifact store (a step whose output cannot be written fails, with that cause), so no
/// record names an artifact that is not there. The run is over only when
/// <see cref="CompleteAsync"/> has committed everything. When the store refuses a batch, each write in it is tried
/// alone, so only the bad one is lost; the first refusal is kept and fails the run.
/// </remarks>
internal sealed class StepRecorder
{
    private const int MaxBatch = 512;
    private readonly IMetadataStore _store;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private Exception? _failure;

    public StepRecorder(IMetadataStore store)
    {
        _store = store;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The first write the store refused, if any.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Hands a write over without waiting for it.</summary>
    public void Post(StepRunWrite write) => Enqueue(new Pending(write, null));

    /// <summary>Hands a write over and waits until it (and everything handed over before it) is committed.</summary>
    public Task WriteAsync(StepRunWrite write)
    {
        var pending = new Pending(write, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Enqueue(pending);
        return pending.Done!.Task;
    }

    /// <summary>Commits what is still waiting and stops; returns the first write the store refused, if any.</summary>
    public async Task<Exception?> CompleteAsync()
    {
        _completing = true;
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        return Failure;
    }

    private void Enqueue(Pending pending)
    {
        if (!_queue.Writer.TryWrite(pending))
            throw new InvalidOperationException("The run's records are complete; no more step-run writes are taken.");
    }

    /// <summary>
    /// How long writes nobody waits for are gathered before they are committed. Steps that take microseconds each (cached,
    /// or trivial) then share one transaction instead of each waking the loop and writing the same pages again. It is real
    /// time, not the run's clock: it only paces the writes, and a test's frozen clock must not hold them back.
    /// </summary>
    private static readonly TimeSpan GatherWindow = TimeSpan.FromMilliseconds(2);

    private volatile bool _completing;

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Pending>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            Take(reader, batch);
            if (batch.Count < MaxBatch && !_completing && batch.TrueForAll(p => p.Done is null))
            {
                await Task.Delay(GatherWindow, TimeProvider.System, CancellationToken.None).ConfigureAwait(false);
                Take(reader, batch);
            }
            await CommitAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private static void Take(ChannelReader<Pending> reader, List<Pending> batch)
    {
        while (batch.Count < MaxBatch && reader.TryRead(out var next)) batch.Add(next);
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        try
        {
            await _store.WriteStepRunsAsync(batch.Select(p => p.Write).ToArray(), CancellationToken.None).ConfigureAwait(false);
            foreach (var pending in batch) pending.Done?.TrySetResult();
            return;
        }
        catch (Exception e) when (batch.Count == 1)
        {
            Fail(batch[0], e);
            return;
        }
        catch (Exception)
        {
            // One write may be all that is wrong: write each alone, below.
        }
        foreach (var pending in batch)
        {
            try
            {
                await _store.WriteStepRunsAsync([pending.Write], CancellationToken.None).ConfigureAwait(false);
                pending.Done?.TrySetResult();
            }
            catch (Exception e)
            {
                Fail(pending, e);
            }
        }
    }

    private void Fail(Pending pending, Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        pending.Done?.TrySetException(e);
    }

    private sealed record Pending(StepRunWrite Write, TaskCompletionSource? Done);
}
