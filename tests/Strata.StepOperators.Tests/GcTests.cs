using Strata.StepOperatorTests.Support;

namespace Strata.StepOperatorTests;

/// <summary>Garbage collection of what real step processes leave: their working directories, once their run is over.</summary>
public sealed class GcTests
{
    [Fact]
    public async Task Gc_removes_the_working_directory_a_local_process_step_left_once_its_run_is_over_and_keeps_its_outputs()
    {
        await using var home = await OperatorHome.OpenAsync();
        var result = await home.RunAsync(ArtifactFlowSteps.Build);
        Assert.True(result.Succeeded, string.Join("\n", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        var summarize = await home.StepRunAsync(result, "summarize");
        var workDir = Path.Combine(home.HomePath, "steps", summarize.Id);
        Assert.True(File.Exists(Path.Combine(workDir, "exit_code")));

        var dry = await home.Client.CollectGarbageAsync(dryRun: true);
        var item = Assert.Single(dry.Items);
        Assert.Equal((LeftoverKinds.WorkingDirectory, workDir), (item.Kind, item.Path));
        Assert.Contains("step 'summarize' of run", item.Reason);
        Assert.True(item.Bytes > 0);
        Assert.True(Directory.Exists(workDir));

        var gc = await home.Client.CollectGarbageAsync(dryRun: false);
        Assert.Equal([workDir], gc.Items.Select(i => i.Path));
        Assert.Empty(gc.Failures);
        Assert.False(Directory.Exists(workDir));
        Assert.Equal(5050L, await result.LoadAsync<long>("summarize", "sum"));
        Assert.Equal("sum=5050", await result.LoadAsync<string>("report"));
        Assert.Empty((await home.Client.CollectGarbageAsync(dryRun: true)).Items);
    }
}
