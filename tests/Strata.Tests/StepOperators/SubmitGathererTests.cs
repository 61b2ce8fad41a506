using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Strata.Tests.StepOperators;

/// <summary>How launches for an operator that gathers them reach <see cref="StepOperator.SubmitManyAsync"/>, on a fake clock.</summary>
public sealed class SubmitGathererTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(200);

    private sealed class GatheringOperator : StepOperator
    {
        public ConcurrentQueue<string[]> Batches { get; } = new();
        public ConcurrentQueue<string> Alone { get; } = new();
        public bool FailBatches { get; init; }
        public string? Refuse { get; init; }

        public override TimeSpan? SubmitWindow => Window;

        public override Task<IReadOnlyList<StepJob>> SubmitManyAsync(IReadOnlyList<StepLaunch> launches, CancellationToken cancellationToken = default)
        {
            Batches.Enqueue(launches.Select(l => l.StepName).ToArray());
            if (FailBatches) throw new InvalidOperationException("the backend refused the batch");
            return Task.FromResult<IReadOnlyList<StepJob>>(launches.Select(Job).ToArray());
        }

        public override Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
        {
            Alone.Enqueue(launch.StepName);
            if (launch.StepName == Refuse) throw new InvalidOperationException($"no room for {launch.StepName}");
            return Task.FromResult(Job(launch));
        }

        private StepJob Job(StepLaunch launch) => new(Name, "job-" + launch.StepName, launch.StepRunId, new Dictionary<string, string>());

        public override Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default) =>
            Task.FromResult(new StepJobStatus(StepJobState.Succeeded));

        public override Task CancelAsync(StepJob job, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }

    private static StepLaunch Launch(string step) => new()
    {
        Pipeline = "p", RunId = "r", RunName = "r", StepName = step, StepRunId = Guid.NewGuid().ToString(), Command = ["true"],
        Environment = new Dictionary<string, string>(), Settings = new object(), ManifestUri = "file:///m",
    };

    /// <summary>Lets the gatherer's continuations run (they are queued on the thread pool).</summary>
    private static async Task SettleAsync()
    {
        for (var i = 0; i < 5; i++) await Task.Delay(10);
    }

    [Fact]
    public async Task Launches_that_come_within_the_window_are_submitted_together_with_each_its_own_handle()
    {
        var op = new GatheringOperator();
        var time = new FakeTimeProvider();
        var gatherer = new SubmitGatherer(op, Window, time);

        var a = gatherer.SubmitAsync(Launch("a"), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(150));
        var b = gatherer.SubmitAsync(Launch("b"), CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(150)); // 300 ms after the first, 150 after the last: still gathering
        var c = gatherer.SubmitAsync(Launch("c"), CancellationToken.None);
        await SettleAsync();
        Assert.Empty(op.Batches);

        time.Advance(Window);
        Assert.Equal(["job-a", "job-b", "job-c"], (await Task.WhenAll(a, b, c)).Select(j => j.JobId));
        Assert.Equal([["a", "b", "c"]], op.Batches);
        Assert.Empty(op.Alone);
    }

    [Fact]
    public async Task A_steady_stream_of_launches_is_cut_after_ten_windows()
    {
        var op = new GatheringOperator();
        var time = new FakeTimeProvider();
        var gatherer = new SubmitGatherer(op, Window, time);

        var first = new List<Task<StepJob>>();
        for (var i = 0; i < 10; i++)
        {
            first.Add(gatherer.SubmitAsync(Launch($"s{i}"), CancellationToken.None));
            time.Advance(TimeSpan.FromMilliseconds(199));
            await SettleAsync();
        }
        time.Advance(TimeSpan.FromMilliseconds(10)); // 2 s after the first launch
        await Task.WhenAll(first);
        Assert.Single(op.Batches);
        Assert.Equal(10, op.Batches.Single().Length);
    }

    [Fact]
    public async Task A_launch_cancelled_while_gathered_is_not_submitted()
    {
        var op = new GatheringOperator();
        var time = new FakeTimeProvider();
        var gatherer = new SubmitGatherer(op, Window, time);
        using var cancel = new CancellationTokenSource();

        var a = gatherer.SubmitAsync(Launch("a"), cancel.Token);
        var b = gatherer.SubmitAsync(Launch("b"), CancellationToken.None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => a);

        time.Advance(Window);
        Assert.Equal("job-b", (await b).JobId);
        Assert.Equal([["b"]], op.Batches);
    }

    [Fact]
    public async Task When_the_batch_fails_each_launch_is_submitted_alone_and_gets_its_own_outcome()
    {
        var op = new GatheringOperator { FailBatches = true, Refuse = "b" };
        var time = new FakeTimeProvider();
        var gatherer = new SubmitGatherer(op, Window, time);

        var a = gatherer.SubmitAsync(Launch("a"), CancellationToken.None);
        var b = gatherer.SubmitAsync(Launch("b"), CancellationToken.None);
        time.Advance(Window);

        Assert.Equal("job-a", (await a).JobId);
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => b);
        Assert.Equal("no room for b", refused.Message);
        Assert.Equal(["a", "b"], op.Alone.Order());
    }

    [Fact]
    public async Task The_default_submits_many_launches_one_by_one_in_order()
    {
        var op = new OneByOneOperator();
        var jobs = await op.SubmitManyAsync([Launch("x"), Launch("y")]);
        Assert.Equal(["x", "y"], jobs.Select(j => j.JobId));
    }

    private sealed class OneByOneOperator : StepOperator
    {
        public override Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default) =>
            Task.FromResult(new StepJob(Name, launch.StepName, launch.StepRunId, new Dictionary<string, string>()));

        public override Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default) =>
            Task.FromResult(new StepJobStatus(StepJobState.Succeeded));

        public override Task CancelAsync(StepJob job, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}
