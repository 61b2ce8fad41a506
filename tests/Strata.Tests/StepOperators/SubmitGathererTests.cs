using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace Strata.Tests.StepOperators;

/// <summary>How launches for an operator that gathers them reach <see cref="StepOperator.SubmitManyAsync"/>, on a fake clock.</summary>
public sealed class SubmitGathererTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(200);

    /// <summary>Real time, for a test whose clock stands still: a gathering that would only end with its window fails the test instead of hanging it.</summary>
    private static readonly TimeSpan NoHang = TimeSpan.FromSeconds(30);

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
    public async Task A_gathering_is_handed_over_once_every_launch_the_run_expects_has_come_without_waiting_out_its_window()
    {
        var op = new GatheringOperator();
        var time = new FakeTimeProvider();
        var gatherer = new SubmitGatherer(op, Window, time);
        gatherer.Expect("a");
        gatherer.Expect("b");
        gatherer.Expect("c");

        var a = gatherer.SubmitAsync(Launch("a"), CancellationToken.None);
        var b = gatherer.SubmitAsync(Launch("b"), CancellationToken.None);
        await SettleAsync();
        Assert.Empty(op.Batches); // c is still on its way

        gatherer.Abandon("c"); // e.g. its outputs came from the cache: it will not be launched
        Assert.Equal(["job-a", "job-b"], (await Task.WhenAll(a, b).WaitAsync(NoHang)).Select(j => j.JobId));
        Assert.Equal([["a", "b"]], op.Batches);

        // Nothing is expected now: the next launch (a retry, say) goes at once, alone in its gathering.
        var retry = await gatherer.SubmitAsync(Launch("a"), CancellationToken.None).WaitAsync(NoHang);
        Assert.Equal("job-a", retry.JobId);
        Assert.Equal([["a", "b"], ["a"]], op.Batches);
    }

    [Fact]
    public async Task A_run_expects_the_steps_whose_inputs_are_ready_so_a_wave_goes_as_one_as_soon_as_it_has_come()
    {
        var op = new GatheringOperator();
        var time = new FakeTimeProvider();
        var pipeline = PipelineDefinition.Build(p =>
        {
            var source = p.Step(Pipelines.ValidationSteps.Source, "gather");
            for (var i = 0; i < 3; i++) p.Step(Pipelines.ValidationSteps.AddTo, source, i);
        }, "gather");
        var root = pipeline.Nodes[0];
        var wave = pipeline.Nodes.Skip(1).ToArray();
        var plans = pipeline.Nodes.ToDictionary(n => n, n => n == root
            ? StepPlan.InProcess(n, StepResources.None, null, 0, TimeSpan.Zero, 1)
            : new StepPlan(n, "gathering", op, null, null, StepResources.None, null, null, 0, TimeSpan.Zero, 1));

        var launches = GatheredLaunches.For(pipeline, plans, time)!;
        var gatherer = op.GathererFor(Window, time);
        launches.Ended(root); // its outcome makes the whole wave ready
        var first = gatherer.SubmitAsync(Launch(wave[0].Name), CancellationToken.None);
        var second = gatherer.SubmitAsync(Launch(wave[1].Name), CancellationToken.None);
        await SettleAsync();
        Assert.Empty(op.Batches); // the third is still on its way
        launches.Ended(wave[2]); // ended without a launch (a cache hit)

        await Task.WhenAll(first, second).WaitAsync(NoHang);
        Assert.Equal([[wave[0].Name, wave[1].Name]], op.Batches);
        Assert.Null(GatheredLaunches.For(pipeline, pipeline.Nodes.ToDictionary(n => n,
            n => StepPlan.InProcess(n, StepResources.None, null, 0, TimeSpan.Zero, 1)), time)); // nothing to tell when no step gathers
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
