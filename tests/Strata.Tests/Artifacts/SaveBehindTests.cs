using Strata.Tests.Materializers;
using Strata.Tests.Orchestration;

namespace Strata.Tests.Artifacts;

public static class SaveBehindSteps
{
    /// <summary>Puts a directory where the step's own output (an int, kept as one file) is about to go, so writing it fails.</summary>
    [Step]
    public static int Blocked(string artifactsRoot)
    {
        var context = StepContext.Current!;
        Directory.CreateDirectory(Path.Combine(artifactsRoot, context.Pipeline, context.RunName, $"{context.StepName}.{context.StepRunId[^8..]}.output~value.txt", "in-the-way"));
        return 1;
    }
}

public class SaveBehindTests
{
    [Fact]
    public async Task A_small_value_saved_behind_gets_the_record_and_hash_of_a_value_saved_at_once()
    {
        using var harness = new ArtifactHarness();
        var value = new Dictionary<string, double> { ["accuracy"] = 0.91, ["auc"] = 0.95 };

        var (behind, written) = await ArtifactIO.SaveBehindAsync(harness.Store, harness.Registry, "behind/metrics", value, value.GetType(), null, "metrics", default);
        await written;
        var direct = await ArtifactIO.SaveAsync(harness.Store, harness.Registry, "direct/metrics", value, value.GetType(), null, "metrics", default);

        Assert.Equal(direct.ContentHash, behind.ContentHash);
        Assert.Equal(direct.Size, behind.Size);
        // One small file, read by name: kept as that file alone, beside where its directory would be, whether it is
        // saved behind a step or at once (as a step process saves its outputs).
        foreach (var (record, path) in new[] { (behind, "behind/metrics"), (direct, "direct/metrics") })
        {
            Assert.Equal(harness.Store.UriOf(path + "~value.json"), record.Uri);
            Assert.True(File.Exists(harness.Store.FullPathOf(path + "~value.json")));
            Assert.False(Directory.Exists(harness.Store.FullPathOf(path)));
        }
        var loaded = await ArtifactIO.LoadAsync(harness.Store, harness.Registry, behind, value.GetType(), default);
        Assert.Equal(value, Assert.IsType<Dictionary<string, double>>(loaded));
    }

    [Fact]
    public async Task An_artifact_whose_name_holds_the_separator_is_read_back_as_its_one_file()
    {
        using var harness = new ArtifactHarness();
        var (record, written) = await ArtifactIO.SaveBehindAsync(harness.Store, harness.Registry, "behind/odd~name", 42, typeof(int), null, "output", default);
        await written;

        Assert.Equal(harness.Store.UriOf("behind/odd~name~value.txt"), record.Uri);
        Assert.Equal(42, await ArtifactIO.LoadAsync(harness.Store, harness.Registry, record, typeof(int), default));
    }

    [Fact]
    public async Task A_small_file_output_keeps_its_directory_and_its_name()
    {
        using var harness = new ArtifactHarness();
        var report = new FileInfo(harness.Temp.Combine("report.md"));
        await File.WriteAllTextAsync(report.FullName, "# accuracy 0.91");

        var (record, written) = await ArtifactIO.SaveBehindAsync(harness.Store, harness.Registry, "behind/report", report, typeof(FileInfo), null, "report", default);
        await written;

        Assert.Equal(harness.Store.UriOf("behind/report"), record.Uri);
        var loaded = Assert.IsType<FileInfo>(await ArtifactIO.LoadAsync(harness.Store, harness.Registry, record, typeof(FileInfo), default));
        Assert.Equal("report.md", loaded.Name);
        Assert.Equal("# accuracy 0.91", await File.ReadAllTextAsync(loaded.FullName));
    }

    [Fact]
    public async Task A_value_too_large_to_hold_in_memory_is_saved_before_the_call_returns()
    {
        using var harness = new ArtifactHarness();
        var large = new byte[ArtifactIO.MaxBytesInMemory + 1];
        Random.Shared.NextBytes(large);

        var (record, written) = await ArtifactIO.SaveBehindAsync(harness.Store, harness.Registry, "large/data", large, typeof(byte[]), null, "data", default);

        Assert.True(written.IsCompletedSuccessfully);
        Assert.True(await harness.Store.ExistsAsync("large/data"));
        Assert.Equal(large.Length, record.Size);
        Assert.Equal(large, await ArtifactIO.LoadAsync(harness.Store, harness.Registry, record, typeof(byte[]), default));
    }

    [Fact]
    public async Task Every_output_is_in_the_artifact_store_when_the_run_returns()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p =>
        {
            var x = p.Step(StateSteps.Next, 0);
            for (var i = 0; i < 50; i++) x = p.Step(StateSteps.Next, x);
        }, noCache: true, name: "behind_chain");

        Assert.True(result.Succeeded);
        var artifacts = new LocalArtifactStore(home.ArtifactsPath);
        var outputs = await home.Store.GetStepOutputsAsync(result.Run.Id);
        Assert.Equal(51, outputs.Count);
        foreach (var output in outputs)
            Assert.True(await artifacts.ExistsAsync(artifacts.PathOf(output.Artifact.Uri)), output.Artifact.Uri);
        Assert.Equal(51, await result.LoadAsync<int>("next_51"));
    }

    [Fact]
    public async Task An_output_that_cannot_be_written_fails_its_step_record_and_the_run()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p => p.Step(SaveBehindSteps.Blocked, home.ArtifactsPath), name: "blocked_output");

        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        Assert.Contains("recording the run's steps failed", result.Run.Error);
        Assert.Contains("could not be written to the artifact store", result.Run.Error);
        var step = await home.StepRunAsync(result, "blocked");
        Assert.Equal(ExecutionStatus.Failed, step.Status);
        Assert.Contains("could not be written to the artifact store", step.Error);
        Assert.Empty(await home.Store.GetStepOutputsAsync(result.Run.Id));
    }
}
