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

/// <summary>What only a local step process shows: a process and a working directory of its own, and literals read cold.</summary>
public sealed partial class LocalProcessOperatorTests
{
    [Fact]
    public async Task Each_step_runs_in_a_process_and_a_working_directory_of_its_own_under_the_home()
    {
        await using var home = await OperatorHome.OpenAsync();

        var result = await home.RunAsync(ArtifactFlowSteps.Build);

        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal("sum=5050", await result.LoadAsync<string>("report"));
        Assert.NotEqual(Environment.ProcessId, await result.LoadAsync<int>("summarize", "pid"));
        var summarize = await home.StepRunAsync(result, "summarize");
        Assert.Equal("local", summarize.StepOperator);
        Assert.Equal(Path.Combine(home.HomePath, "steps", summarize.Id), await result.LoadAsync<string>("summarize", "directory"));
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
