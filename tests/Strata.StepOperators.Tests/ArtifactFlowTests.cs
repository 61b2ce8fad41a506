using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

public static class ArtifactFlowSteps
{
    [Step]
    public static int[] Numbers(int count) => Enumerable.Range(1, count).ToArray();

    /// <summary>Runs in a step process: reads an artifact made in the orchestrator, makes one the orchestrator reads.</summary>
    [Step(StepOperator = "local")]
    public static (long Sum, int Pid, string Directory) Summarize(int[] numbers)
    {
        Console.WriteLine($"summing {numbers.Length} numbers in process {Environment.ProcessId}");
        Console.WriteLine("naïve ✓ 日本語");
        return (numbers.Sum(n => (long)n), Environment.ProcessId, Environment.CurrentDirectory);
    }

    [Step]
    public static string Report(long sum) => $"sum={sum}";

    [Pipeline]
    public static void Build(PipelineBuilder p)
    {
        var (sum, _, _) = p.Step(Summarize, p.Step(Numbers, 100));
        p.Step(Report, sum);
    }

    public enum Rounding { Down, Up }

    /// <summary>Takes literals of both kinds a step process reads: a plain number, and an enum and an array (through the serializer).</summary>
    [Step(StepOperator = "local")]
    public static string Describe(double scale, Rounding rounding, int[] weights) =>
        $"{scale.ToString(System.Globalization.CultureInfo.InvariantCulture)} {rounding} {string.Join(',', weights)} in {Environment.ProcessId}";
}

public sealed class ArtifactFlowTests
{
    [Fact]
    public async Task Outputs_made_in_the_step_process_are_read_by_a_downstream_step_in_the_orchestrator()
    {
        await using var home = await OperatorHome.OpenAsync();
        var observer = new RecordingObserver();

        var result = await home.RunAsync(ArtifactFlowSteps.Build, observer);

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal("sum=5050", await result.LoadAsync<string>("report"));
        var pid = await result.LoadAsync<int>("summarize", "pid");
        Assert.NotEqual(Environment.ProcessId, pid);

        // The artifacts the step process wrote are recorded as the remote step run's outputs.
        var summarize = await home.StepRunAsync(result, "summarize");
        Assert.Equal("local", summarize.StepOperator);
        Assert.Equal(ExecutionStatus.Completed, summarize.Status);
        var outputs = (await home.Client.Store.GetStepOutputsAsync(result.Run.Id)).Where(o => o.StepRunId == summarize.Id).ToArray();
        Assert.Equal(["directory", "pid", "sum"], outputs.Select(o => o.Name).Order());
        Assert.All(outputs, o => Assert.Equal(summarize.Id, o.Artifact.ProducerStepRunId));
        var reportInput = (await home.Client.Store.GetStepInputsAsync(result.Run.Id)).Single(i => i.StepRunId == result["report"].StepRunId);
        Assert.Equal(outputs.Single(o => o.Name == "sum").Artifact.Id, reportInput.Artifact.Id);

        // Each step runs in a working directory of its own under the home.
        var directory = await result.LoadAsync<string>("summarize", "directory");
        Assert.Equal(Path.Combine(home.HomePath, "steps", summarize.Id), directory);

        // Its output reached the live view under its name, and the stored log.
        Assert.Contains($"summing 100 numbers in process {pid}", observer.LinesOf("summarize"));
        var log = await home.Client.Store.GetStepLogAsync(summarize.Id);
        Assert.Contains($"summing 100 numbers in process {pid}", log);
        Assert.Contains("naïve ✓ 日本語", log);
        Assert.Contains("naïve ✓ 日本語", observer.LinesOf("summarize"));
    }

    [Fact]
    public async Task A_step_process_reads_plain_and_structured_literals_as_the_orchestrator_gave_them()
    {
        await using var home = await OperatorHome.OpenAsync();

        var result = await home.RunAsync(p => p.Step(ArtifactFlowSteps.Describe, 0.25, ArtifactFlowSteps.Rounding.Up, new[] { 3, 1, 2 }));

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        var described = await result.LoadAsync<string>("describe");
        Assert.StartsWith("0.25 Up 3,1,2 in ", described);
        Assert.NotEqual($"in {Environment.ProcessId}", described[described.LastIndexOf("in ", StringComparison.Ordinal)..]);
    }
}
