using System.Reflection;
using Strata.Tests.Orchestration;

namespace Strata.Tests.Caching;

public static class CacheSteps
{
    [Step]
    public static int[] Make(string testId, int n)
    {
        Probe.Hit(testId, "make");
        return Enumerable.Range(0, n).ToArray();
    }

    [Step]
    public static int Total(string testId, int[] values)
    {
        Probe.Hit(testId, "total");
        return values.Sum();
    }

    /// <summary>Never cached; returns whatever the test set, so its content can change while its key stays the same.</summary>
    [Step(EnableCache = false)]
    public static int Read(string testId)
    {
        Probe.Hit(testId, "read");
        return Probe.Get(testId, "value");
    }

    [Step]
    public static int Square(string testId, int x)
    {
        Probe.Hit(testId, "square");
        return x * x;
    }

    [Step]
    public static async Task<(int Low, int High)> Bounds(string testId, int[] values)
    {
        await Task.Yield();
        Probe.Hit(testId, "bounds");
        return (values.Min(), values.Max());
    }
}

public class CacheTests
{
    private static void Make(PipelineBuilder p, string id, int n = 4) => p.Step(CacheSteps.Total, id, p.Step(CacheSteps.Make, id, n));

    [Fact]
    public async Task A_second_identical_run_reuses_the_outputs_without_running_the_steps()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var first = await home.RunAsync(p => Make(p, id));
        var second = await home.RunAsync(p => Make(p, id));

        Assert.Equal(1, Probe.Count(id, "make"));
        Assert.Equal(1, Probe.Count(id, "total"));
        Assert.True(second.Succeeded);
        Assert.Equal(ExecutionStatus.Completed, second.Run.Status);
        Assert.Equal(ExecutionStatus.Cached, second["make"].Status);
        Assert.Equal(ExecutionStatus.Cached, second["total"].Status);
        Assert.Equal(6, await second.LoadAsync<int>("total"));
        Assert.Equal(first["total"].Outputs["output"].Id, second["total"].Outputs["output"].Id);

        var cached = await home.StepRunAsync(second, "total");
        Assert.Equal(ExecutionStatus.Cached, cached.Status);
        Assert.Equal(first["total"].StepRunId, cached.CachedFromStepRunId);
        Assert.Equal((await home.StepRunAsync(first, "total")).CacheKey, cached.CacheKey);
        // The cached step run links the reused outputs and the inputs it would have read.
        var outputs = await home.Store.GetStepOutputsAsync(second.Run.Id);
        Assert.Contains(outputs, o => o.StepRunId == cached.Id && o.Artifact.Id == first["total"].Outputs["output"].Id);
        var inputs = await home.Store.GetStepInputsAsync(second.Run.Id);
        Assert.Contains(inputs, i => i.StepRunId == cached.Id && i.Name == "values" && i.Artifact.Id == first["make"].Outputs["output"].Id);
    }

    [Fact]
    public async Task A_step_hits_its_cache_entry_however_many_later_runs_of_the_step_came_after_it()
    {
        // A run reads the latest entries of each step definition at once (4 per step and 64 more); an older entry is asked for alone.
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        for (var x = 0; x <= 70; x++)
            Assert.True((await home.RunAsync(p => p.Step(CacheSteps.Square, id, x))).Succeeded);

        var oldest = await home.RunAsync(p => p.Step(CacheSteps.Square, id, 0));
        var newest = await home.RunAsync(p => p.Step(CacheSteps.Square, id, 70));
        var both = await home.RunAsync(p =>
        {
            p.Step(CacheSteps.Square, id, 0);
            p.Step(CacheSteps.Square, id, 70);
        });

        Assert.Equal(71, Probe.Count(id, "square"));
        Assert.Equal(ExecutionStatus.Cached, oldest["square"].Status);
        Assert.Equal(ExecutionStatus.Cached, newest["square"].Status);
        Assert.All(both.Steps, s => Assert.Equal(ExecutionStatus.Cached, s.Status));
        Assert.Equal(4900, await newest.LoadAsync<int>("square"));
    }

    [Fact]
    public async Task A_changed_literal_is_a_miss_for_that_step_and_for_what_depends_on_its_output()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        await home.RunAsync(p => Make(p, id, 4));
        var changed = await home.RunAsync(p => Make(p, id, 5));

        Assert.Equal(ExecutionStatus.Completed, changed["make"].Status);
        Assert.Equal(ExecutionStatus.Completed, changed["total"].Status);
        Assert.Equal(2, Probe.Count(id, "make"));
        Assert.Equal(2, Probe.Count(id, "total"));
        Assert.Equal(10, await changed.LoadAsync<int>("total"));
    }

    [Fact]
    public async Task The_key_follows_input_content_not_which_artifact_holds_it()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        void Pipeline(PipelineBuilder p) => p.Step(CacheSteps.Square, id, p.Step(CacheSteps.Read, id));

        Probe.Set(id, "value", 3);
        var first = await home.RunAsync(Pipeline);
        var sameContent = await home.RunAsync(Pipeline);
        Probe.Set(id, "value", 4);
        var newContent = await home.RunAsync(Pipeline);

        // The uncached source ran every time and wrote a new artifact each time.
        Assert.Equal(3, Probe.Count(id, "read"));
        Assert.All([first, sameContent, newContent], r => Assert.Equal(ExecutionStatus.Completed, r["read"].Status));
        Assert.NotEqual(first["read"].Outputs["output"].Id, sameContent["read"].Outputs["output"].Id);

        Assert.Equal(ExecutionStatus.Cached, sameContent["square"].Status);
        Assert.Equal(ExecutionStatus.Completed, newContent["square"].Status);
        Assert.Equal(2, Probe.Count(id, "square"));
        Assert.Equal(9, await sameContent.LoadAsync<int>("square"));
        Assert.Equal(16, await newContent.LoadAsync<int>("square"));
    }

    [Fact]
    public async Task A_step_with_caching_disabled_always_runs()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        await home.RunAsync(p => p.Step(CacheSteps.Read, id));
        var second = await home.RunAsync(p => p.Step(CacheSteps.Read, id));

        Assert.Equal(2, Probe.Count(id, "read"));
        Assert.Equal(ExecutionStatus.Completed, second["read"].Status);
    }

    [Fact]
    public async Task NoCache_runs_every_step_again_and_later_runs_can_still_use_the_cache()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        await home.RunAsync(p => Make(p, id));
        var forced = await home.RunAsync(p => Make(p, id), noCache: true);
        var after = await home.RunAsync(p => Make(p, id));

        Assert.Equal(ExecutionStatus.Completed, forced["make"].Status);
        Assert.Equal(ExecutionStatus.Completed, forced["total"].Status);
        Assert.Equal(2, Probe.Count(id, "make"));
        Assert.Equal(2, Probe.Count(id, "total"));
        Assert.Equal(ExecutionStatus.Cached, after["total"].Status);
        Assert.Equal(forced["total"].StepRunId, (await home.StepRunAsync(after, "total")).CachedFromStepRunId);
    }

    [Fact]
    public async Task A_hit_whose_artifacts_are_gone_is_a_miss_not_an_error()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        var first = await home.RunAsync(p => Make(p, id));
        var artifacts = await home.Client.GetArtifactStoreAsync();
        await artifacts.DeleteAsync(artifacts.PathOf(first["make"].Outputs["output"].Uri));

        var second = await home.RunAsync(p => Make(p, id));

        Assert.True(second.Succeeded, second.Run.Error);
        Assert.Equal(ExecutionStatus.Completed, second["make"].Status);
        Assert.Equal(2, Probe.Count(id, "make"));
        // The new artifact has the same content, so the step downstream is still a hit.
        Assert.Equal(ExecutionStatus.Cached, second["total"].Status);
        Assert.Equal(1, Probe.Count(id, "total"));
        Assert.Equal(6, await second.LoadAsync<int>("total"));
    }

    [Fact]
    public async Task A_whole_artifact_root_wiped_makes_every_step_run_again()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        await home.RunAsync(p => Make(p, id));
        Directory.Delete(home.ArtifactsPath, recursive: true);
        var second = await home.RunAsync(p => Make(p, id));

        Assert.True(second.Succeeded, second.Run.Error);
        Assert.All(second.Steps, s => Assert.Equal(ExecutionStatus.Completed, s.Status));
        Assert.Equal(6, await second.LoadAsync<int>("total"));
    }

    [Fact]
    public async Task A_cached_step_feeds_its_stored_outputs_to_a_step_that_runs()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();

        await home.RunAsync(p => p.Step(CacheSteps.Make, id, 5));
        var second = await home.RunAsync(p => Make(p, id, 5));

        Assert.Equal(ExecutionStatus.Cached, second["make"].Status);
        Assert.Equal(ExecutionStatus.Completed, second["total"].Status);
        Assert.Equal(10, await second.LoadAsync<int>("total"));
    }

    [Fact]
    public async Task Async_tuple_steps_are_cached_per_output()
    {
        var id = Probe.NewId();
        await using var home = await TestHome.OpenAsync();
        void Pipeline(PipelineBuilder p)
        {
            var (low, high) = p.Step(CacheSteps.Bounds, id, p.Step(CacheSteps.Make, id, 6));
            p.Step(CacheSteps.Square, id, high);
        }

        await home.RunAsync(Pipeline);
        var second = await home.RunAsync(Pipeline);

        Assert.Equal(1, Probe.Count(id, "bounds"));
        Assert.Equal(ExecutionStatus.Cached, second["bounds"].Status);
        Assert.Equal(0, await second.LoadAsync<int>("bounds", "low"));
        Assert.Equal(5, await second.LoadAsync<int>("bounds", "high"));
        Assert.Equal(25, await second.LoadAsync<int>("square"));
    }

    [Fact]
    public async Task Changing_a_helper_the_step_calls_is_a_miss_and_changing_unrelated_code_is_not()
    {
        await using var home = await TestHome.OpenAsync();
        Task<RunResult> RunCompute(MethodInfo step) =>
            home.RunAsync(p => p.Step(step.CreateDelegate<Func<int, int>>(), 10).Named("compute"));

        var first = await RunCompute(GeneratedSteps.Compute(helperAddend: 1));
        var same = await RunCompute(GeneratedSteps.Compute(helperAddend: 1));
        var unrelatedChanged = await RunCompute(GeneratedSteps.Compute(helperAddend: 1, unrelatedResult: 9));
        var helperChanged = await RunCompute(GeneratedSteps.Compute(helperAddend: 2));

        Assert.Equal(ExecutionStatus.Completed, first["compute"].Status);
        Assert.Equal(11, await first.LoadAsync<int>("compute"));
        Assert.Equal(ExecutionStatus.Cached, same["compute"].Status);
        Assert.Equal(ExecutionStatus.Cached, unrelatedChanged["compute"].Status);
        Assert.Equal(ExecutionStatus.Completed, helperChanged["compute"].Status);
        Assert.Equal(12, await helperChanged.LoadAsync<int>("compute"));
    }
}
