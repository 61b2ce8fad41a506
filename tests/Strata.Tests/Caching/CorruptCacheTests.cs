using Strata.Tests.Orchestration;
using Strata.Tests.Support;

namespace Strata.Tests.Caching;

/// <summary>A cached output that was changed in the artifact store after it was written is never served as data.</summary>
public class CorruptCacheTests
{
    private static void Pipeline(PipelineBuilder p, string id) => p.Step(CacheSteps.Total, id, p.Step(CacheSteps.Make, id, 4));

    /// <summary>Changes one digit of a stored number, as a stray edit or a failing disk would.</summary>
    private static Task ChangeDigitAsync(TestHome home, ArtifactRecord artifact, char from, char to) =>
        StoredBytes.ChangeAsync(home.ArtifactsPath, artifact.Uri, bytes =>
        {
            Assert.Contains((byte)from, bytes);
            return bytes.Select(b => b == from ? (byte)to : b).ToArray();
        });

    [Fact]
    public async Task A_cached_output_changed_on_disk_is_dropped_with_a_warning_and_its_step_runs_again()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        var first = await home.RunAsync(p => Pipeline(p, id));
        var stored = first["total"].Outputs["output"];
        await ChangeDigitAsync(home, stored, '6', '7');

        var observer = new RecordingObserver();
        var rerun = await home.RunAsync(p => Pipeline(p, id), observer: observer);

        Assert.True(rerun.Succeeded);
        Assert.Equal(ExecutionStatus.Cached, rerun["make"].Status);
        Assert.Equal(ExecutionStatus.Completed, rerun["total"].Status);
        Assert.Equal(2, Probe.Count(id, "total"));
        Assert.Equal(6, await rerun.LoadAsync<int>("total"));
        var warning = Assert.Single(observer.Warnings);
        Assert.Contains("'total'", warning);
        Assert.Contains(stored.Uri, warning);
        Assert.Contains("does not match its recorded content hash", warning);

        // The recomputed output is what the cache serves from now on, without a warning.
        var third = new RecordingObserver();
        var again = await home.RunAsync(p => Pipeline(p, id), observer: third);
        Assert.Equal(ExecutionStatus.Cached, again["total"].Status);
        Assert.Equal(rerun["total"].StepRunId, (await home.StepRunAsync(again, "total")).CachedFromStepRunId);
        Assert.Empty(third.Warnings);
    }

    [Fact]
    public async Task A_changed_cached_input_is_recomputed_and_its_unchanged_consumer_stays_cached()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        var first = await home.RunAsync(p => Pipeline(p, id));
        await StoredBytes.ChangeAsync(home.ArtifactsPath, first["make"].Outputs["output"].Uri,
            bytes => [.. bytes[..^1], 42]); // the last element of the stored int[]

        var observer = new RecordingObserver();
        var rerun = await home.RunAsync(p => Pipeline(p, id), observer: observer);

        Assert.Equal(ExecutionStatus.Completed, rerun["make"].Status);
        Assert.Equal(ExecutionStatus.Cached, rerun["total"].Status); // the recomputed input has the recorded content again
        Assert.Equal(6, await rerun.LoadAsync<int>("total"));
        Assert.Contains("'make'", Assert.Single(observer.Warnings));
    }

    [Fact]
    public async Task Loading_a_changed_output_of_an_earlier_run_is_an_error_naming_it()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        var first = await home.RunAsync(p => Pipeline(p, id));
        var stored = first["total"].Outputs["output"];
        await ChangeDigitAsync(home, stored, '6', '9');

        var error = await Assert.ThrowsAsync<ArtifactException>(() => first.LoadAsync<int>("total"));

        Assert.Contains(stored.Uri, error.Message);
        Assert.Contains("does not match its recorded content hash", error.Message);
    }
}
