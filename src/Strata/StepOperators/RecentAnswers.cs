using System.Collections.Concurrent;

namespace Strata.StepOperators;

/// <summary>
/// The latest answer a backend gave about each job, reused while it is younger than the age the caller accepts: a step's
/// status polls and its log stream ask about the same job, and each question to a cloud API is a request against its rate
/// limits. An age of zero always asks.
/// </summary>
/// <typeparam name="T">The backend's answer (a described job).</typeparam>
public sealed class RecentAnswers<T>(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (DateTimeOffset At, T Answer)> _latest = new(StringComparer.Ordinal);

    /// <summary>The answer about <paramref name="job"/> from less than <paramref name="maxAge"/> ago, else a new one from <paramref name="ask"/>.</summary>
    public async Task<T> GetAsync(string job, TimeSpan maxAge, Func<CancellationToken, Task<T>> ask, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ask);
        var now = time.GetUtcNow();
        if (maxAge > TimeSpan.Zero && _latest.TryGetValue(job, out var cached) && now - cached.At < maxAge) return cached.Answer;
        var answer = await ask(cancellationToken).ConfigureAwait(false);
        _latest[job] = (now, answer);
        return answer;
    }

    /// <summary>Drops the answer about <paramref name="job"/>: it was cancelled (the next answer must be fresh) or cleaned up.</summary>
    public void Forget(string job) => _latest.TryRemove(job, out _);
}
