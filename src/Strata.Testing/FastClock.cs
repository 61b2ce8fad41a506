using Microsoft.Extensions.Time.Testing;

namespace Strata.Testing;

/// <summary>
/// A fake clock that runs fast: every couple of real milliseconds it moves <c>step</c> ahead. A run given it
/// (<see cref="RunOptions.TimeProvider"/>) times out, waits out pending jobs and backs off between retries at that pace,
/// so a ten-minute timeout takes a moment and no test waits for the real clock.
/// </summary>
/// <example><c>await using var clock = new FastClock(TimeSpan.FromSeconds(1)); ... new RunOptions { TimeProvider = clock.Time }</c></example>
public sealed class FastClock : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _ticking;

    public FastClock(TimeSpan step)
    {
        Time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _ticking = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(2);
                Time.Advance(step);
            }
        });
    }

    public FakeTimeProvider Time { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _ticking;
        _stop.Dispose();
    }
}
