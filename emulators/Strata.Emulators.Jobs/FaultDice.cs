namespace Strata.Emulators.Jobs;

/// <summary>The fault an emulator answers a request with instead of serving it.</summary>
public enum InjectedFault
{
    None,

    /// <summary>The service's throttling error (429 or its own kind).</summary>
    Throttle,

    /// <summary>One of the service's 5xx errors.</summary>
    ServerError,
}

/// <summary>
/// The dice of an emulator's injected faults: one roll per request, throttled below the throttle rate, a server error
/// below the sum of both rates, served otherwise. The rates are given at each roll, so a test can change them while the
/// emulator runs. A seed makes the rolls repeatable. Safe to roll from any thread.
/// </summary>
public sealed class FaultDice(int? seed)
{
    private readonly Random _random = seed is { } s ? new Random(s) : new Random();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _inARow = new(StringComparer.Ordinal);

    /// <param name="throttleRate">Share of requests throttled, 0 to 1.</param>
    /// <param name="serverErrorRate">Share of requests answered with a server error, 0 to 1.</param>
    /// <param name="request">Names the request (e.g. method and path), for <paramref name="maxInARow"/>.</param>
    /// <param name="maxInARow">
    /// At most this many faults in a row for one <paramref name="request"/>: its retries then get through, and a request
    /// served starts its count again. Null: no limit.
    /// </param>
    public InjectedFault Roll(double throttleRate, double serverErrorRate, string? request = null, int? maxInARow = null)
    {
        lock (_lock)
        {
            var roll = _random.NextDouble();
            var fault = roll < throttleRate ? InjectedFault.Throttle
                : roll < throttleRate + serverErrorRate ? InjectedFault.ServerError
                : InjectedFault.None;
            if (request is null || maxInARow is null) return fault;
            var inARow = _inARow.GetValueOrDefault(request);
            if (fault == InjectedFault.None || inARow >= maxInARow)
            {
                _inARow.Remove(request);
                return InjectedFault.None;
            }
            _inARow[request] = inARow + 1;
            return fault;
        }
    }
}
