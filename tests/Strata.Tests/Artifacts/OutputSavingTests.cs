using Strata.Tests.Materializers;
using Strata.Tests.Orchestration;

namespace Strata.Tests.Artifacts;

public static class OutputSavingSteps
{
    /// <summary>Puts a file where the directory of the step's own output (an int, packed with the run's) is about to be, so writing it fails.</summary>
    [Step]
    public static int Blocked(string artifactsRoot)
    {
        var context = StepContext.Current!;
        var runDirectory = Path.Combine(artifactsRoot, context.Pipeline, context.RunName);
        if (Directory.Exists(runDirectory)) Directory.Delete(runDirectory, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(runDirectory)!);
        File.WriteAllText(runDirectory, "in the way");
        return 1;
    }
}

public static class TwoOutputSteps
{
    [Step]
    public static (int[] Train, int[] Test) Split(int count) => (Enumerable.Range(0, count).ToArray(), Enumerable.Range(count, count).ToArray());

    [Step]
    public static int Fit(int[] train) => train.Length;

    [Pipeline(Name = "full_disk")]
    public static void Build(PipelineBuilder p)
    {
        // 100,000 ints: too large to hold in memory, so each output is streamed to the store as a directory.
        var (train, _) = p.Step(Split, 100_000);
        p.Step(Fit, train);
    }
}

/// <summary>
/// A local store whose disk is full while <see cref="Full"/> is set: every write of an artifact whose path ends with
/// <c>.test</c> fails as a full disk does, after the artifacts before it were written.
/// </summary>
public sealed class FullDiskArtifactStore(string root) : ArtifactStore
{
    private readonly LocalArtifactStore _inner = new(root);

    public static volatile bool Full = true;

    public override string Root => _inner.Root;

    private static void Check(string path)
    {
        if (Full && path.Split('~')[0].EndsWith(".test", StringComparison.Ordinal)) throw new IOException($"No space left on device : '{path}'");
    }

    public override Task<ArtifactContent> WriteArtifactAsync(string path, Func<IArtifactWriter, CancellationToken, Task> write,
        CancellationToken cancellationToken = default)
    {
        Check(path);
        return _inner.WriteArtifactAsync(path, write, cancellationToken);
    }

    public override Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        Check(path);
        return _inner.WriteFileAsync(path, content, cancellationToken);
    }

    public override Task<IArtifactReader> OpenArtifactAsync(string path, CancellationToken cancellationToken = default) =>
        _inner.OpenArtifactAsync(path, cancellationToken);

    public override string? SingleFilePathOf(string path, string fileName) => _inner.SingleFilePathOf(path, fileName);

    public override Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) => _inner.ExistsAsync(path, cancellationToken);

    public override Task DeleteAsync(string path, CancellationToken cancellationToken = default) => _inner.DeleteAsync(path, cancellationToken);

    public override Task<byte[]?> ReadFileAsync(string path, CancellationToken cancellationToken = default) => _inner.ReadFileAsync(path, cancellationToken);
}

public sealed class FullDiskConfig
{
    public string? Path { get; set; }
}

public sealed class FullDiskArtifactStoreFlavor : ArtifactStoreFlavor
{
    public override string Name => "full-disk";
    public override string Description => "A local store whose disk is full (tests).";
    public override Type ConfigType => typeof(FullDiskConfig);
    public override ArtifactStore Create(object config, StrataHome home) => new FullDiskArtifactStore(((FullDiskConfig)config).Path!);
}

public class OutputSavingTests
{
    [Fact]
    public async Task A_small_value_is_kept_as_its_one_file_in_its_directory_s_pack()
    {
        using var harness = new ArtifactHarness();
        var value = new Dictionary<string, double> { ["accuracy"] = 0.91, ["auc"] = 0.95 };

        var record = await ArtifactIO.SaveAsync(harness.Store, harness.Registry, "direct/metrics", value, value.GetType(), null, "metrics", default);

        Assert.Equal(harness.Store.UriOf("direct/metrics~value.json"), record.Uri);
        Assert.NotNull(harness.Store.PackedLocationOf("direct/metrics~value.json"));
        Assert.False(File.Exists(harness.Store.FullPathOf("direct/metrics~value.json")));
        Assert.False(Directory.Exists(harness.Store.FullPathOf("direct/metrics")));
        var loaded = await ArtifactIO.LoadAsync(harness.Store, harness.Registry, record, value.GetType(), default);
        Assert.Equal(value, Assert.IsType<Dictionary<string, double>>(loaded));
    }

    [Fact]
    public async Task An_artifact_whose_name_holds_the_separator_is_read_back_as_its_one_file()
    {
        using var harness = new ArtifactHarness();
        var record = await ArtifactIO.SaveAsync(harness.Store, harness.Registry, "behind/odd~name", 42, typeof(int), null, "output", default);

        Assert.Equal(harness.Store.UriOf("behind/odd~name~value.txt"), record.Uri);
        Assert.Equal(42, await ArtifactIO.LoadAsync(harness.Store, harness.Registry, record, typeof(int), default));
    }

    [Fact]
    public async Task A_small_file_output_keeps_its_directory_and_its_name()
    {
        using var harness = new ArtifactHarness();
        var report = new FileInfo(harness.Temp.Combine("report.md"));
        await File.WriteAllTextAsync(report.FullName, "# accuracy 0.91");

        var record = await ArtifactIO.SaveAsync(harness.Store, harness.Registry, "behind/report", report, typeof(FileInfo), null, "report", default);

        Assert.Equal(harness.Store.UriOf("behind/report"), record.Uri);
        var loaded = Assert.IsType<FileInfo>(await ArtifactIO.LoadAsync(harness.Store, harness.Registry, record, typeof(FileInfo), default));
        Assert.Equal("report.md", loaded.Name);
        Assert.Equal("# accuracy 0.91", await File.ReadAllTextAsync(loaded.FullName));
    }

    [Fact]
    public async Task A_value_too_large_to_hold_in_memory_is_streamed_to_the_store()
    {
        using var harness = new ArtifactHarness();
        var large = new byte[ArtifactIO.MaxBytesInMemory + 1];
        Random.Shared.NextBytes(large);

        var record = await ArtifactIO.SaveAsync(harness.Store, harness.Registry, "large/data", large, typeof(byte[]), null, "data", default);

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
    public async Task An_output_that_cannot_be_written_fails_its_own_step_with_the_cause_and_leaves_no_temporary_file()
    {
        await using var home = await TestHome.OpenAsync();
        var result = await home.RunAsync(p => p.Step(OutputSavingSteps.Blocked, home.ArtifactsPath), name: "blocked_output");

        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        Assert.Equal("step(s) failed: blocked", result.Run.Error);
        var step = await home.StepRunAsync(result, "blocked");
        Assert.Equal(ExecutionStatus.Failed, step.Status);
        Assert.Matches(@"^\w+Exception: .* \(writing output 'output' to .*/blocked_output/blocked_output-[^/]+/blocked\.", step.Error);
        Assert.Empty(await home.Store.GetStepOutputsAsync(result.Run.Id));
        Assert.Empty(Directory.EnumerateFiles(home.ArtifactsPath, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_step_whose_second_output_meets_a_full_disk_fails_with_that_cause_removes_its_first_and_resumes_once_there_is_room()
    {
        await using var home = await TestHome.OpenAsync(new FlavorRegistry().Add(new FullDiskArtifactStoreFlavor()));
        var root = System.IO.Path.Combine(home.Path, "full");
        await home.Client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, "full", "full-disk", new Dictionary<string, string> { ["path"] = root });
        await home.Client.Stacks.RegisterStackAsync("full", "default", "full", setActive: true);
        FullDiskArtifactStore.Full = true;
        try
        {
            var result = await home.Client.RunAsync(TwoOutputSteps.Build, new RunOptions { Observer = RunObservers.None });

            Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
            Assert.Equal("step(s) failed: split", result.Run.Error);
            var split = await home.StepRunAsync(result, "split");
            Assert.Equal(ExecutionStatus.Failed, split.Status);
            Assert.StartsWith("IOException: No space left on device", split.Error);
            Assert.Contains("(writing output 'test' to ", split.Error);
            Assert.Equal(ExecutionStatus.Skipped, (await home.StepRunAsync(result, "fit")).Status);
            Assert.Empty(await home.Store.GetStepOutputsAsync(result.Run.Id));
            Assert.Empty(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)); // the train output, written first, is gone too

            FullDiskArtifactStore.Full = false;
            var resumed = await home.Client.ResumeAsync(result.Run.Id, new RunOptions { Observer = RunObservers.None });
            Assert.True(resumed.Succeeded, resumed.Run.Error);
            Assert.Equal(100_000, await resumed.LoadAsync<int>("fit"));
        }
        finally
        {
            FullDiskArtifactStore.Full = true;
        }
    }
}
