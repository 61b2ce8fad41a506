using Microsoft.Extensions.Time.Testing;
using System.Collections.Concurrent;

namespace Strata.Tests.Orchestration;

public static class StateSteps
{
    public static readonly ConcurrentDictionary<string, (string RunId, string StepRunId, string StepName, string Pipeline)> Seen = new();

    [Step]
    public static async Task<int> Hold(string testId)
    {
        var context = StepContext.Current!;
        Seen[testId] = (context.RunId, context.StepRunId, context.StepName, context.Pipeline);
        Probe.Signal(testId, "entered").TrySetResult();
        await Probe.WaitAsync(testId, "release");
        return 1;
    }

    [Step]
    public static int Next(int x) => x + 1;
}

/// <summary>Collects what a run reports, from several threads.</summary>
internal sealed class RecordingObserver : IRunObserver
{
    public ConcurrentQueue<StepProgress> Changes { get; } = new();
    public ConcurrentQueue<(string Step, string Line)> Lines { get; } = new();
    public IReadOnlyList<string>? Steps { get; private set; }
    public RunResult? Finished { get; private set; }

    public void RunStarted(RunRecord run, IReadOnlyList<string> steps) => Steps = steps;
    public void StepChanged(StepProgress progress) => Changes.Enqueue(progress);
    public void StepLogLine(string step, string line) => Lines.Enqueue((step, line));
    public void RunFinished(RunResult result) => Finished = result;
    public void Warning(string message) => Warnings.Enqueue(message);

    public ConcurrentQueue<string> Warnings { get; } = new();

    public IReadOnlyList<ExecutionStatus> StatesOf(string step) => Changes.Where(c => c.Step == step).Select(c => c.Status).ToArray();
}

public class StepStateTests
{
    [Fact]
    public async Task A_step_is_running_in_the_store_while_it_runs_and_its_dependents_wait()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        var observer = new RecordingObserver();

        var run = home.RunAsync(p => p.Step(StateSteps.Next, p.Step(StateSteps.Hold, id)), observer: observer, name: "held");
        try
        {
            await Probe.WaitAsync(id, "entered");
            var seen = StateSteps.Seen[id];
            Assert.Equal("hold", seen.StepName);
            Assert.Equal("held", seen.Pipeline);

            var runRecord = await home.Store.FindRunAsync(seen.RunId);
            Assert.Equal(ExecutionStatus.Running, runRecord!.Status);
            // The run writes its records behind the steps: the running step shows up in the store within moments.
            var steps = await home.Store.ListStepRunsAsync(seen.RunId);
            for (var wait = 0; wait < 100 && steps.Count == 0; wait++)
            {
                await Task.Delay(50);
                steps = await home.Store.ListStepRunsAsync(seen.RunId);
            }
            var hold = Assert.Single(steps, s => s.Name == "hold");
            Assert.Equal(seen.StepRunId, hold.Id);
            Assert.Equal(ExecutionStatus.Running, hold.Status);
            Assert.DoesNotContain(steps, s => s.Name == "next" && s.Status != ExecutionStatus.Pending);
            Assert.Equal([ExecutionStatus.Running], observer.StatesOf("hold"));
            Assert.Empty(observer.StatesOf("next"));
        }
        finally
        {
            Probe.Signal(id, "release").TrySetResult();
        }

        var result = await run;
        Assert.True(result.Succeeded);
        Assert.Equal(StateSteps.Seen[id].StepRunId, result["hold"].StepRunId);
        Assert.Equal(["hold", "next"], observer.Steps);
        Assert.Equal([ExecutionStatus.Running, ExecutionStatus.Completed], observer.StatesOf("hold"));
        Assert.Equal([ExecutionStatus.Running, ExecutionStatus.Completed], observer.StatesOf("next"));
        Assert.Same(result, observer.Finished);
        Assert.Null(StepContext.Current);
    }

    [Fact]
    public async Task A_run_can_be_given_a_name()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.Client.RunAsync(PipelineDefinition.Build(p => p.Step(StateSteps.Next, 1), "named_run"),
            new RunOptions { Observer = RunObservers.None, RunName = "my-run-1" });

        Assert.Equal("my-run-1", result.Run.Name);
        Assert.Equal(result.Run.Id, (await home.Store.FindRunAsync("my-run-1"))!.Id);
        Assert.Equal(StackManager.DefaultStack, result.Run.Stack);
    }

    [Fact]
    public async Task Runs_of_one_process_started_in_the_same_second_get_names_of_their_own()
    {
        // 700 runs in one second of a frozen clock: 16 random bits per name would repeat one with a chance of 97%.
        await using var home = await TestHome.OpenAsync();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 6, 0, 0, TimeSpan.Zero));
        var pipeline = PipelineDefinition.Build(p => p.Step(StateSteps.Next, 1), "same_second");
        var names = new List<string>();
        for (var i = 0; i < 700; i++)
        {
            var result = await home.Client.RunAsync(pipeline, new RunOptions { Observer = RunObservers.None, TimeProvider = clock });
            Assert.True(result.Succeeded, result.Run.Error);
            names.Add(result.Run.Name);
        }

        Assert.All(names, n => Assert.StartsWith("same_second-20261205-060000-", n));
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
