namespace Strata.Tests.Store;

/// <summary>
/// What every <see cref="IMetadataStore"/> must do. A store implementation's tests inherit this class; xunit makes a
/// new instance per test, so each test gets a fresh, empty store in <see cref="Store"/>.
/// </summary>
public abstract class MetadataStoreConformanceTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_560); // microsecond precision

    private readonly List<IMetadataStore> _opened = [];

    protected IMetadataStore Store { get; private set; } = null!;

    /// <summary>A fresh, empty, migrated store.</summary>
    protected abstract Task<IMetadataStore> CreateStoreAsync();

    /// <summary>Another store instance on the same database as the one <see cref="CreateStoreAsync"/> made (as a second process would open it).</summary>
    protected abstract Task<IMetadataStore> OpenAgainAsync();

    /// <summary>Removes what <see cref="CreateStoreAsync"/> made, after all stores are disposed.</summary>
    protected virtual Task CleanupAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _opened) await store.DisposeAsync();
        if (Store is not null) await Store.DisposeAsync();
        await CleanupAsync();
    }

    private async Task<IMetadataStore> OpenTrackedAsync()
    {
        var store = await OpenAgainAsync();
        lock (_opened) _opened.Add(store);
        return store;
    }

    // ---- builders ----

    private static DateTimeOffset At(int seconds) => T0.AddSeconds(seconds);

    private static ComponentRecord Component(ComponentType type, string name, string flavor = "local", Dictionary<string, string>? config = null) =>
        new($"c-{type}-{name}", name, type, flavor, config ?? new() { ["key"] = "value" }, At(0), At(1));

    private static RunRecord Run(string id, string name, int startedAt, string pipeline = "training") =>
        new(id, name, pipeline, "dev", ExecutionStatus.Running, At(startedAt), null, null, 3);

    private static StepRunRecord StepRun(string id, string runId, string name, string? cacheKey = null, int startedAt = 0) =>
        new(id, runId, name, $"App.Steps.{name}", "code-v1", cacheKey, ExecutionStatus.Running, At(startedAt), null, null, null, """{"epochs":10}""", 1, "gpu");

    private static ArtifactRecord Artifact(string id, string producer, string output, int createdAt = 0) =>
        new(id, $"file:///artifacts/{id}", "System.Int32", "primitive", 2, $"hash-{id}", 1234567890123, producer, output, At(createdAt));

    private async Task AddComponentsAsync(params ComponentRecord[] components)
    {
        foreach (var c in components) await Store.AddComponentAsync(c);
    }

    private async Task AddBasicStackAsync(string name, params (string Name, int Position)[] stepOperators)
    {
        await Store.AddStackAsync(new StackRecord($"s-{name}", name,
            [new(ComponentType.Orchestrator, "default", 0), new(ComponentType.ArtifactStore, "default", 0),
             .. stepOperators.Select(s => new StackMember(ComponentType.StepOperator, s.Name, s.Position))], At(0), At(0)));
    }

    // ---- components ----

    [Fact]
    public async Task Components_are_added_read_listed_updated_and_deleted()
    {
        var gpu = Component(ComponentType.StepOperator, "gpu", "slurm", new() { ["partition"] = "gpu", ["time_limit"] = "02:00:00" });
        await AddComponentsAsync(Component(ComponentType.Orchestrator, "default"), gpu, Component(ComponentType.StepOperator, "cpu"));

        var read = await Store.GetComponentAsync(ComponentType.StepOperator, "gpu");
        Assert.NotNull(read);
        Assert.Equal((gpu.Id, gpu.Name, gpu.Type, gpu.Flavor, gpu.CreatedAt, gpu.UpdatedAt), (read.Id, read.Name, read.Type, read.Flavor, read.CreatedAt, read.UpdatedAt));
        Assert.Equal(gpu.Config.OrderBy(kv => kv.Key), read.Config.OrderBy(kv => kv.Key));
        Assert.Null(await Store.GetComponentAsync(ComponentType.Orchestrator, "gpu"));

        Assert.Equal(3, (await Store.ListComponentsAsync()).Count);
        Assert.Equal(["cpu", "gpu"], (await Store.ListComponentsAsync(ComponentType.StepOperator)).Select(c => c.Name));
        Assert.Empty(await Store.ListComponentsAsync(ComponentType.ImageBuilder));

        await Store.UpdateComponentAsync(ComponentType.StepOperator, "gpu", new Dictionary<string, string> { ["partition"] = "a100" });
        var updated = await Store.GetComponentAsync(ComponentType.StepOperator, "gpu");
        Assert.Equal([KeyValuePair.Create("partition", "a100")], updated!.Config);
        Assert.Equal(gpu.CreatedAt, updated.CreatedAt);
        Assert.True(updated.UpdatedAt > gpu.UpdatedAt);

        await Store.DeleteComponentAsync(ComponentType.StepOperator, "gpu");
        Assert.Null(await Store.GetComponentAsync(ComponentType.StepOperator, "gpu"));
        Assert.Equal(["cpu"], (await Store.ListComponentsAsync(ComponentType.StepOperator)).Select(c => c.Name));

        await Assert.ThrowsAsync<StrataConfigException>(() => Store.UpdateComponentAsync(ComponentType.StepOperator, "gpu", new Dictionary<string, string>()));
        await Assert.ThrowsAsync<StrataConfigException>(() => Store.DeleteComponentAsync(ComponentType.StepOperator, "gpu"));
    }

    [Fact]
    public async Task A_component_name_is_unique_per_type()
    {
        await Store.AddComponentAsync(Component(ComponentType.StepOperator, "gpu"));
        var e = await Assert.ThrowsAsync<StrataConfigException>(() => Store.AddComponentAsync(Component(ComponentType.StepOperator, "gpu") with { Id = "other" }));
        Assert.Contains("gpu", e.Message);

        await Store.AddComponentAsync(Component(ComponentType.Orchestrator, "gpu"));
        Assert.Equal(2, (await Store.ListComponentsAsync()).Count);
    }

    [Fact]
    public async Task Deleting_a_component_a_stack_uses_is_refused_naming_the_stack()
    {
        await AddComponentsAsync(Component(ComponentType.Orchestrator, "default"), Component(ComponentType.ArtifactStore, "default"), Component(ComponentType.StepOperator, "gpu"));
        await AddBasicStackAsync("training-stack", ("gpu", 0));

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => Store.DeleteComponentAsync(ComponentType.StepOperator, "gpu"));
        Assert.Contains("training-stack", e.Message);
        Assert.NotNull(await Store.GetComponentAsync(ComponentType.StepOperator, "gpu"));

        await Store.DeleteStackAsync("training-stack");
        await Store.DeleteComponentAsync(ComponentType.StepOperator, "gpu");
        Assert.Null(await Store.GetComponentAsync(ComponentType.StepOperator, "gpu"));
    }

    // ---- stacks ----

    [Fact]
    public async Task Stacks_are_added_read_listed_changed_and_deleted()
    {
        await AddComponentsAsync(Component(ComponentType.Orchestrator, "default"), Component(ComponentType.ArtifactStore, "default"),
            Component(ComponentType.StepOperator, "a"), Component(ComponentType.StepOperator, "b"), Component(ComponentType.StepOperator, "c"));
        await AddBasicStackAsync("dev", ("a", 1), ("b", 0));
        await Store.AddStackAsync(new StackRecord("s-empty", "empty", [], At(5), At(6)));

        var dev = await Store.GetStackAsync("dev");
        Assert.NotNull(dev);
        Assert.Equal(("s-dev", "dev", At(0), At(0)), (dev.Id, dev.Name, dev.CreatedAt, dev.UpdatedAt));
        Assert.Equal("default", dev.Single(ComponentType.Orchestrator));
        Assert.Equal("default", dev.Single(ComponentType.ArtifactStore));
        Assert.Null(dev.Single(ComponentType.ContainerRegistry));
        Assert.Equal(["b", "a"], dev.All(ComponentType.StepOperator));

        var empty = await Store.GetStackAsync("empty");
        Assert.Equal((At(5), At(6)), (empty!.CreatedAt, empty.UpdatedAt));
        Assert.Empty(empty.Components);
        Assert.Null(await Store.GetStackAsync("prod"));
        Assert.Equal(["dev", "empty"], (await Store.ListStacksAsync()).Select(s => s.Name));

        await Store.ReplaceStackComponentsAsync("dev",
            [new(ComponentType.Orchestrator, "default", 0), new(ComponentType.ArtifactStore, "default", 0),
             new(ComponentType.StepOperator, "a", 1), new(ComponentType.StepOperator, "b", 2), new(ComponentType.StepOperator, "c", 0)]);
        dev = await Store.GetStackAsync("dev");
        Assert.Equal(["c", "a", "b"], dev!.All(ComponentType.StepOperator));
        Assert.Equal([0, 1, 2], dev.Components.Where(c => c.Type == ComponentType.StepOperator).OrderBy(c => c.Position).Select(c => c.Position));
        Assert.True(dev.UpdatedAt > At(0));

        await Store.DeleteStackAsync("dev");
        Assert.Null(await Store.GetStackAsync("dev"));
        Assert.Equal(["empty"], (await Store.ListStacksAsync()).Select(s => s.Name));
        await Store.DeleteComponentAsync(ComponentType.StepOperator, "a"); // no longer used
    }

    [Fact]
    public async Task Stack_mistakes_are_config_errors()
    {
        await AddComponentsAsync(Component(ComponentType.Orchestrator, "default"), Component(ComponentType.ArtifactStore, "default"));
        await AddBasicStackAsync("dev");

        await Assert.ThrowsAsync<StrataConfigException>(() => AddBasicStackAsync("dev"));
        var unknown = await Assert.ThrowsAsync<StrataConfigException>(() => AddBasicStackAsync("gpu-stack", ("missing", 0)));
        Assert.Contains("missing", unknown.Message);
        Assert.Null(await Store.GetStackAsync("gpu-stack")); // nothing half-written
        await Assert.ThrowsAsync<StrataConfigException>(() => Store.ReplaceStackComponentsAsync("prod", []));
        await Assert.ThrowsAsync<StrataConfigException>(() => Store.DeleteStackAsync("prod"));
    }

    [Fact]
    public async Task Deleting_the_active_stack_is_refused()
    {
        await AddComponentsAsync(Component(ComponentType.Orchestrator, "default"), Component(ComponentType.ArtifactStore, "default"));
        await AddBasicStackAsync("dev");
        await AddBasicStackAsync("prod");
        await Store.SetSettingAsync("active_stack", "dev");

        var e = await Assert.ThrowsAsync<StrataConfigException>(() => Store.DeleteStackAsync("dev"));
        Assert.Contains("active", e.Message);
        Assert.NotNull(await Store.GetStackAsync("dev"));

        await Store.SetSettingAsync("active_stack", "prod");
        await Store.DeleteStackAsync("dev");
        Assert.Null(await Store.GetStackAsync("dev"));
    }

    [Fact]
    public async Task Settings_are_upserted()
    {
        Assert.Null(await Store.GetSettingAsync("active_stack"));
        await Store.SetSettingAsync("active_stack", "dev");
        await Store.SetSettingAsync("other", "x");
        Assert.Equal("dev", await Store.GetSettingAsync("active_stack"));
        await Store.SetSettingAsync("active_stack", "prod");
        Assert.Equal("prod", await Store.GetSettingAsync("active_stack"));
        Assert.Equal("x", await Store.GetSettingAsync("other"));
    }

    // ---- runs ----

    [Fact]
    public async Task Runs_are_created_finished_and_found_by_id_name_or_unique_prefix()
    {
        var run = Run("aaaa1111-0000", "training-1", 0);
        await Store.CreateRunAsync(run);
        await Store.CreateRunAsync(Run("aaaa2222-0000", "training-2", 1));
        await Store.CreateRunAsync(Run("bbbb3333-0000", "training-3", 2));

        Assert.Equal(run, await Store.FindRunAsync("aaaa1111-0000"));
        Assert.Equal(run, await Store.FindRunAsync("training-1"));
        Assert.Equal(run, await Store.FindRunAsync("aaaa1"));
        Assert.Equal("bbbb3333-0000", (await Store.FindRunAsync("bbbb"))!.Id);
        Assert.Null(await Store.FindRunAsync("bbb")); // too short for a prefix
        Assert.Null(await Store.FindRunAsync("cccc"));
        await Assert.ThrowsAsync<StrataConfigException>(() => Store.FindRunAsync("aaaa"));

        await Store.UpdateRunStatusAsync(run.Id, ExecutionStatus.Retrying);
        Assert.Equal(ExecutionStatus.Retrying, (await Store.FindRunAsync(run.Id))!.Status);

        await Store.FinishRunAsync(run.Id, ExecutionStatus.Failed, At(60), "step 'train' failed");
        Assert.Equal(run with { Status = ExecutionStatus.Failed, FinishedAt = At(60), Error = "step 'train' failed" }, await Store.FindRunAsync(run.Id));
    }

    [Fact]
    public async Task Runs_are_listed_newest_first_with_a_limit_and_a_pipeline_filter()
    {
        for (var i = 0; i < 6; i++)
            await Store.CreateRunAsync(Run($"run-{i}", $"name-{i}", startedAt: i * 10, pipeline: i % 2 == 0 ? "training" : "scoring"));

        Assert.Equal(["run-5", "run-4", "run-3", "run-2", "run-1", "run-0"], (await Store.ListRunsAsync()).Select(r => r.Id));
        Assert.Equal(["run-5", "run-4"], (await Store.ListRunsAsync(limit: 2)).Select(r => r.Id));
        Assert.Equal(["run-4", "run-2", "run-0"], (await Store.ListRunsAsync("training")).Select(r => r.Id));
        Assert.Equal(["run-5"], (await Store.ListRunsAsync("scoring", limit: 1)).Select(r => r.Id));
        Assert.Empty(await Store.ListRunsAsync("unknown"));
        Assert.Equal(At(30), (await Store.ListRunsAsync("scoring")).Single(r => r.Id == "run-3").StartedAt);
    }

    [Fact]
    public async Task Runs_are_paged_newest_first_by_pipeline_and_status()
    {
        for (var i = 0; i < 7; i++)
            await Store.CreateRunAsync(Run($"run-{i}", $"name-{i}", startedAt: i * 10, pipeline: i % 2 == 0 ? "training" : "scoring"));
        await Store.FinishRunAsync("run-1", ExecutionStatus.Failed, At(100), "boom");
        await Store.FinishRunAsync("run-4", ExecutionStatus.Failed, At(100), "boom");

        Assert.Equal(["run-6", "run-5", "run-4"], (await Store.ListRunsPageAsync(null, null, 0, 3)).Select(r => r.Id));
        Assert.Equal(["run-3", "run-2", "run-1"], (await Store.ListRunsPageAsync(null, null, 3, 3)).Select(r => r.Id));
        Assert.Equal(["run-0"], (await Store.ListRunsPageAsync(null, null, 6, 3)).Select(r => r.Id));
        Assert.Equal(["run-2", "run-0"], (await Store.ListRunsPageAsync("training", null, 2, 5)).Select(r => r.Id));
        Assert.Equal(["run-4", "run-1"], (await Store.ListRunsPageAsync(null, ExecutionStatus.Failed, 0, 5)).Select(r => r.Id));
        Assert.Equal(["run-1"], (await Store.ListRunsPageAsync("scoring", ExecutionStatus.Failed, 0, 5)).Select(r => r.Id));
        Assert.Empty(await Store.ListRunsPageAsync("scoring", ExecutionStatus.Cancelled, 0, 5));
    }

    // ---- step runs and lineage ----

    [Fact]
    public async Task Step_runs_record_inputs_outputs_and_new_artifacts()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        var load = StepRun("step-load", "run-1", "load", startedAt: 1);
        await Store.CreateStepRunAsync(load, []);
        Assert.Equal([load], await Store.ListStepRunsAsync("run-1"));

        var data = Artifact("art-data", "step-load", "output", createdAt: 2);
        await Store.FinishStepRunAsync("step-load", ExecutionStatus.Completed, At(2), null, [data], [("output", "art-data")]);

        var train = StepRun("step-train", "run-1", "train", startedAt: 3);
        await Store.CreateStepRunAsync(train, [("data", "art-data")]);
        var model = Artifact("art-model", "step-train", "model", createdAt: 4);
        var metrics = Artifact("art-metrics", "step-train", "metrics", createdAt: 5);
        await Store.FinishStepRunAsync("step-train", ExecutionStatus.Completed, At(5), null, [model, metrics], [("model", "art-model"), ("metrics", "art-metrics")]);

        Assert.Equal([load with { Status = ExecutionStatus.Completed, FinishedAt = At(2) }, train with { Status = ExecutionStatus.Completed, FinishedAt = At(5) }],
            await Store.ListStepRunsAsync("run-1"));
        Assert.Empty(await Store.ListStepRunsAsync("run-2"));

        Assert.Equal([new StepArtifactLink("step-train", "data", data)], await Store.GetStepInputsAsync("run-1"));
        Assert.Equal(
            [new StepArtifactLink("step-load", "output", data), new StepArtifactLink("step-train", "metrics", metrics), new StepArtifactLink("step-train", "model", model)],
            await Store.GetStepOutputsAsync("run-1"));

        // A second run that reuses the first run's artifact (a cache hit) links it without a new artifact.
        await Store.CreateRunAsync(Run("run-2", "training-2", 10));
        var cached = StepRun("step-load-2", "run-2", "load", startedAt: 11) with { CachedFromStepRunId = "step-load" };
        await Store.CreateStepRunAsync(cached, []);
        await Store.FinishStepRunAsync("step-load-2", ExecutionStatus.Cached, At(11), null, [], [("output", "art-data")]);
        Assert.Equal([new StepArtifactLink("step-load-2", "output", data)], await Store.GetStepOutputsAsync("run-2"));
        Assert.Equal("step-load", (await Store.ListStepRunsAsync("run-2")).Single().CachedFromStepRunId);
    }

    [Fact]
    public async Task An_artifacts_consumers_are_the_step_runs_that_read_it_in_any_run_oldest_first()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.CreateStepRunAsync(StepRun("step-load", "run-1", "load", startedAt: 1), []);
        var data = Artifact("art-data", "step-load", "output", createdAt: 2);
        await Store.FinishStepRunAsync("step-load", ExecutionStatus.Completed, At(2), null, [data], [("output", "art-data")]);
        Assert.Empty(await Store.GetArtifactConsumersAsync("art-data"));

        var train = StepRun("step-train", "run-1", "train", startedAt: 3);
        await Store.CreateStepRunAsync(train, [("data", "art-data")]);
        await Store.CreateRunAsync(Run("run-2", "training-2", 10));
        var evaluate = StepRun("step-eval", "run-2", "evaluate", startedAt: 11);
        await Store.CreateStepRunAsync(evaluate, [("test_set", "art-data")]);

        Assert.Equal([(train, "data"), (evaluate, "test_set")], await Store.GetArtifactConsumersAsync("art-data"));
        Assert.Empty(await Store.GetArtifactConsumersAsync("art-other"));
    }

    [Fact]
    public async Task A_runs_graph_is_kept_with_it_and_read_back_whole()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        Assert.Null(await Store.GetRunGraphAsync("run-1"));
        var graph = new Dictionary<string, IReadOnlyList<string>>
        {
            ["load"] = [], ["train"] = ["load"], ["evaluate"] = ["train", "load"], ["report \"ü\""] = ["evaluate"],
        };
        await Store.SaveRunGraphAsync("run-1", graph);

        var read = await Store.GetRunGraphAsync("run-1");
        Assert.NotNull(read);
        Assert.Equal(graph.Keys.Order(), read.Keys.Order());
        foreach (var (step, upstream) in graph) Assert.Equal(upstream, read[step]);
        Assert.Null(await Store.GetRunGraphAsync("run-2"));

        // Saved again (a resume of a changed pipeline), the new graph replaces the old, and the run's own record is untouched.
        await Store.SaveRunGraphAsync("run-1", new Dictionary<string, IReadOnlyList<string>> { ["only"] = [] });
        Assert.Equal(["only"], (await Store.GetRunGraphAsync("run-1"))!.Keys);
        Assert.Equal(Run("run-1", "training-1", 0), await Store.FindRunAsync("run-1"));
    }

    [Fact]
    public async Task A_finished_step_run_is_recorded_in_one_write_with_its_inputs_and_outputs()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        var load = StepRun("step-load", "run-1", "load", startedAt: 1);
        await Store.CreateStepRunAsync(load, []);
        var data = Artifact("art-data", "step-load", "output", createdAt: 2);
        await Store.FinishStepRunAsync("step-load", ExecutionStatus.Completed, At(2), null, [data], [("output", "art-data")]);

        var cached = StepRun("step-train", "run-1", "train", startedAt: 3) with { Status = ExecutionStatus.Cached, FinishedAt = At(3), CachedFromStepRunId = "step-old" };
        var model = Artifact("art-model", "step-train", "model", createdAt: 3);
        await Store.RecordStepRunAsync(cached, [("data", "art-data")], [model], [("model", "art-model")]);

        Assert.Equal(cached, (await Store.ListStepRunsAsync("run-1")).Single(s => s.Id == "step-train"));
        Assert.Contains(new StepArtifactLink("step-train", "data", data), await Store.GetStepInputsAsync("run-1"));
        Assert.Contains(new StepArtifactLink("step-train", "model", model), await Store.GetStepOutputsAsync("run-1"));

        // All or nothing: an output that names no artifact fails the write, and nothing of the step run stays.
        var broken = StepRun("step-eval", "run-1", "eval", startedAt: 4) with { Status = ExecutionStatus.Cached, FinishedAt = At(4) };
        await Assert.ThrowsAnyAsync<Exception>(() => Store.RecordStepRunAsync(broken, [], [], [("output", "no-such-artifact")]));
        Assert.DoesNotContain(await Store.ListStepRunsAsync("run-1"), s => s.Id == "step-eval");
    }

    [Fact]
    public async Task Step_run_writes_are_applied_in_order_in_one_transaction()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        var load = StepRun("step-load", "run-1", "load", startedAt: 1);
        var data = Artifact("art-data", "step-load", "output", createdAt: 2);
        var train = StepRun("step-train", "run-1", "train", startedAt: 3);
        // The load step starts and ends in the batch; the train step reads its output and is still running at the end.
        await Store.WriteStepRunsAsync(
        [
            new StepRunStarted(load, []),
            new StepRunFinished("step-load", ExecutionStatus.Completed, At(2), null, [data], [("output", "art-data")]),
            new StepLogSaved("step-load", "loaded 3 rows\n"),
            new StepRunStarted(train, [("data", "art-data")]),
        ]);
        Assert.Equal([load with { Status = ExecutionStatus.Completed, FinishedAt = At(2) }, train], await Store.ListStepRunsAsync("run-1"));
        Assert.Equal([new StepArtifactLink("step-load", "output", data)], await Store.GetStepOutputsAsync("run-1"));
        Assert.Equal([new StepArtifactLink("step-train", "data", data)], await Store.GetStepInputsAsync("run-1"));
        Assert.Equal("loaded 3 rows\n", await Store.GetStepLogAsync("step-load"));

        await Store.WriteStepRunsAsync([new StepRunFinished("step-train", ExecutionStatus.Failed, At(7), "diverged", [], [])]);
        Assert.Equal(train with { Status = ExecutionStatus.Failed, FinishedAt = At(7), Error = "diverged" }, (await Store.ListStepRunsAsync("run-1"))[1]);

        // All or none: a write that names no artifact fails the batch, and the good writes before it are not kept.
        var eval = StepRun("step-eval", "run-1", "eval", startedAt: 8);
        await Assert.ThrowsAnyAsync<Exception>(() => Store.WriteStepRunsAsync(
            [new StepRunStarted(eval, [("model", "art-data")]), new StepRunStarted(StepRun("step-bad", "run-1", "bad"), [("model", "no-such-artifact")])]));
        Assert.Equal(["step-load", "step-train"], (await Store.ListStepRunsAsync("run-1")).Select(s => s.Id));
    }

    [Fact]
    public async Task Latest_counts_take_each_step_once_by_its_latest_attempt()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.WriteStepRunsAsync(
        [
            new StepRunRecorded(StepRun("a1", "run-1", "train", startedAt: 1) with { Status = ExecutionStatus.Failed, FinishedAt = At(2) }, [], [], []),
            new StepRunRecorded(StepRun("a2", "run-1", "train", startedAt: 3) with { Status = ExecutionStatus.Cancelled, FinishedAt = At(4), Attempt = 2 },
                [], [], []),
            new StepRunRecorded(StepRun("a3", "run-1", "train", startedAt: 5) with { Status = ExecutionStatus.Completed, FinishedAt = At(6), Attempt = 3 },
                [], [], []),
            new StepRunRecorded(StepRun("b1", "run-1", "eval", startedAt: 7) with { Status = ExecutionStatus.Completed, FinishedAt = At(8) }, [], [], []),
            // Resumed after it completed once: the attempt running now is what counts.
            new StepRunRecorded(StepRun("c1", "run-1", "report", startedAt: 9) with { Status = ExecutionStatus.Completed, FinishedAt = At(10) }, [], [], []),
            new StepRunStarted(StepRun("c2", "run-1", "report", startedAt: 11) with { Attempt = 2 }, []),
        ]);

        var counts = await Store.CountStepsAsync("run-1");
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Completed] = 2, [ExecutionStatus.Running] = 1 }, counts.Latest);
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Failed] = 1, [ExecutionStatus.Cancelled] = 1, [ExecutionStatus.Completed] = 1 },
            counts.Earlier);
        Assert.Equal(6, (await Store.CountStepRunsAsync("run-1")).Values.Sum());
        var none = await Store.CountStepsAsync("run-2");
        Assert.Empty(none.Latest);
        Assert.Empty(none.Earlier);
    }

    [Fact]
    public async Task A_finished_run_keeps_its_step_counts_as_they_were_when_it_finished()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.WriteStepRunsAsync(
        [
            new StepRunRecorded(StepRun("t1", "run-1", "train", startedAt: 1) with { Status = ExecutionStatus.Failed, FinishedAt = At(2) }, [], [], []),
            new StepRunRecorded(StepRun("t2", "run-1", "train", startedAt: 3) with { Status = ExecutionStatus.Completed, FinishedAt = At(4), Attempt = 2 },
                [], [], []),
            new StepRunRecorded(StepRun("l1", "run-1", "load", startedAt: 0) with { Status = ExecutionStatus.Completed, FinishedAt = At(1) }, [], [], []),
        ]);
        await Store.FinishRunAsync("run-1", ExecutionStatus.Completed, At(5), null);

        var done = await Store.CountStepsAsync("run-1");
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Completed] = 2 }, done.Latest);
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Failed] = 1 }, done.Earlier);
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Completed] = 2, [ExecutionStatus.Failed] = 1 },
            await Store.CountStepRunsAsync("run-1"));

        // A step run written after the finish (an orchestrator still recording after a cancel from elsewhere) counts from the
        // next finish on; a reopened run is counted afresh.
        await Store.WriteStepRunsAsync([new StepRunRecorded(StepRun("e1", "run-1", "eval", startedAt: 6) with
            { Status = ExecutionStatus.Cancelled, FinishedAt = At(7) }, [], [], [])]);
        Assert.Equal(done.Latest, (await Store.CountStepsAsync("run-1")).Latest);
        await Store.FinishRunAsync("run-1", ExecutionStatus.Cancelled, At(8), "cancelled");
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Completed] = 2, [ExecutionStatus.Cancelled] = 1 },
            (await Store.CountStepsAsync("run-1")).Latest);

        await Store.ReopenRunAsync("run-1");
        await Store.WriteStepRunsAsync([new StepRunStarted(StepRun("e2", "run-1", "eval", startedAt: 9) with { Attempt = 2 }, [])]);
        var reopened = await Store.CountStepsAsync("run-1");
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Completed] = 2, [ExecutionStatus.Running] = 1 }, reopened.Latest);
        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Failed] = 1, [ExecutionStatus.Cancelled] = 1 }, reopened.Earlier);
    }

    [Fact]
    public async Task One_steps_attempts_and_inputs_are_read_without_the_rest_of_its_run()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.CreateRunAsync(Run("run-2", "training-2", 10));
        var data = Artifact("art-data", "l1", "output");
        var other = Artifact("art-other", "l2", "output");
        var t2 = StepRun("t2", "run-1", "train", startedAt: 5) with { Status = ExecutionStatus.Completed, FinishedAt = At(6), Attempt = 2 };
        var t1 = StepRun("t1", "run-1", "train", startedAt: 1) with { Status = ExecutionStatus.Failed, FinishedAt = At(2) };
        await Store.WriteStepRunsAsync(
        [
            new StepRunRecorded(StepRun("l1", "run-1", "load") with { Status = ExecutionStatus.Completed, FinishedAt = At(1) }, [], [data], [("output", "art-data")]),
            new StepRunRecorded(t2, [("data", "art-data")], [], []),
            new StepRunRecorded(t1, [("data", "art-data")], [], []),
            new StepRunRecorded(StepRun("e1", "run-1", "eval", startedAt: 7) with { Status = ExecutionStatus.Completed, FinishedAt = At(8) },
                [("data", "art-data")], [], []),
            new StepRunRecorded(StepRun("l2", "run-2", "load", startedAt: 11) with { Status = ExecutionStatus.Completed, FinishedAt = At(12) }, [], [other],
                [("output", "art-other")]),
            new StepRunRecorded(StepRun("t3", "run-2", "train", startedAt: 13) with { Status = ExecutionStatus.Completed, FinishedAt = At(14) },
                [("data", "art-other")], [], []),
        ]);

        Assert.Equal([t1, t2], await Store.ListStepAttemptsAsync("run-1", "train"));
        Assert.Equal(["t3"], (await Store.ListStepAttemptsAsync("run-2", "train")).Select(s => s.Id));
        Assert.Empty(await Store.ListStepAttemptsAsync("run-1", "no-such-step"));

        Assert.Equal([new StepArtifactLink("t2", "data", data)], await Store.GetStepRunInputsAsync("run-1", ["t2"]));
        Assert.Equal([new StepArtifactLink("e1", "data", data), new StepArtifactLink("t1", "data", data)],
            await Store.GetStepRunInputsAsync("run-1", ["t1", "e1", "l1"]));
        Assert.Empty(await Store.GetStepRunInputsAsync("run-1", ["t3"])); // a step run of another run
        Assert.Empty(await Store.GetStepRunInputsAsync("run-1", Array.Empty<string>()));
    }

    [Fact]
    public async Task Listed_step_runs_tell_a_step_s_attempts_apart_and_break_ties_by_name()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.WriteStepRunsAsync(
        [
            new StepRunRecorded(StepRun("t1", "run-1", "train", startedAt: 1) with { Status = ExecutionStatus.Failed, FinishedAt = At(2) }, [], [], []),
            new StepRunRecorded(StepRun("t2", "run-1", "train", startedAt: 3) with { Status = ExecutionStatus.Completed, FinishedAt = At(4), Attempt = 2 },
                [], [], []),
            new StepRunRecorded(StepRun("e1", "run-1", "eval", startedAt: 3) with { Status = ExecutionStatus.Completed, FinishedAt = At(4) }, [], [], []),
            new StepRunRecorded(StepRun("l1", "run-1", "load", startedAt: 0) with { Status = ExecutionStatus.Completed, FinishedAt = At(1) }, [], [], []),
        ]);

        Assert.Equal(["l1", "t1", "e1", "t2"], (await Store.ListStepRunsAsync("run-1")).Select(s => s.Id));
        Assert.Equal(["l1", "t1", "e1", "t2"], (await Store.ListStepRunsAsync("run-1", 10)).Select(s => s.Id));
        // The failed attempt first, then the earliest that completed; of two started at once, the first by name.
        Assert.Equal(["l1", "t1"], (await Store.ListStepRunsAsync("run-1", 2)).Select(s => s.Id));
        Assert.Equal(["l1", "t1", "e1"], (await Store.ListStepRunsAsync("run-1", 3)).Select(s => s.Id));
    }

    [Fact]
    public async Task A_large_run_is_summarised_by_counts_a_few_steps_problems_first_and_their_outputs()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        var writes = new List<StepRunWrite>();
        for (var i = 0; i < 6; i++)
        {
            var step = StepRun($"step-{i}", "run-1", $"s{i}", startedAt: i);
            var status = i == 4 ? ExecutionStatus.Failed : i == 5 ? ExecutionStatus.Skipped : ExecutionStatus.Completed;
            writes.Add(new StepRunRecorded(step with { Status = status, FinishedAt = At(i + 1) }, [],
                status == ExecutionStatus.Completed ? [Artifact($"art-{i}", $"step-{i}", "output")] : [],
                status == ExecutionStatus.Completed ? [("output", $"art-{i}")] : []));
        }
        await Store.WriteStepRunsAsync(writes);

        Assert.Equal(new Dictionary<ExecutionStatus, int> { [ExecutionStatus.Completed] = 4, [ExecutionStatus.Failed] = 1, [ExecutionStatus.Skipped] = 1 },
            await Store.CountStepRunsAsync("run-1"));
        Assert.Empty(await Store.CountStepRunsAsync("run-2"));
        // Three of six: the failed and the skipped one first, then the earliest that completed; listed in run order.
        Assert.Equal(["step-0", "step-4", "step-5"], (await Store.ListStepRunsAsync("run-1", 3)).Select(s => s.Id));
        Assert.Equal(["step-0", "step-1", "step-2", "step-3", "step-4", "step-5"], (await Store.ListStepRunsAsync("run-1", 10)).Select(s => s.Id));
        // The same once the run finished, when its counts are stored with it.
        await Store.FinishRunAsync("run-1", ExecutionStatus.Failed, At(7), "step-4 failed");
        Assert.Equal(["step-0", "step-4", "step-5"], (await Store.ListStepRunsAsync("run-1", 3)).Select(s => s.Id));

        // A finished run of successes alone: the first in run order, of two started at once the first by name.
        await Store.CreateRunAsync(Run("run-3", "training-3", 10));
        await Store.WriteStepRunsAsync([.. new[] { ("b", 12), ("c", 11), ("a", 12), ("d", 13) }.Select(s =>
            new StepRunRecorded(StepRun($"ok-{s.Item1}", "run-3", s.Item1, startedAt: s.Item2) with
                { Status = ExecutionStatus.Completed, FinishedAt = At(s.Item2 + 1) }, [], [], []))]);
        await Store.FinishRunAsync("run-3", ExecutionStatus.Completed, At(20), null);
        Assert.Equal(["ok-c", "ok-a", "ok-b"], (await Store.ListStepRunsAsync("run-3", 3)).Select(s => s.Id));

        var outputs = await Store.GetStepOutputsAsync(["step-0", "step-4", "step-3"]);
        Assert.Equal([("step-0", "art-0"), ("step-3", "art-3")], outputs.Select(o => (o.StepRunId, o.Artifact.Id)));
        Assert.Empty(await Store.GetStepOutputsAsync(Array.Empty<string>()));
    }

    [Fact]
    public async Task A_failed_step_run_keeps_its_error()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.CreateStepRunAsync(StepRun("step-1", "run-1", "train") with { Attempt = 2, StepOperator = null }, []);
        await Store.FinishStepRunAsync("step-1", ExecutionStatus.Failed, At(9), "out of memory", [], []);

        var step = (await Store.ListStepRunsAsync("run-1")).Single();
        Assert.Equal(ExecutionStatus.Failed, step.Status);
        Assert.Equal(At(9), step.FinishedAt);
        Assert.Equal("out of memory", step.Error);
        Assert.Equal(2, step.Attempt);
        Assert.Null(step.StepOperator);
        Assert.Empty(await Store.GetStepOutputsAsync("run-1"));
    }

    [Fact]
    public async Task FindCached_returns_the_latest_completed_step_run_with_the_key_and_its_outputs()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        Assert.Null(await Store.FindCachedAsync("key-1"));

        await Store.CreateStepRunAsync(StepRun("old", "run-1", "train", "key-1", 1), []);
        await Store.FinishStepRunAsync("old", ExecutionStatus.Completed, At(2), null, [Artifact("art-old", "old", "model")], [("model", "art-old")]);
        var latest = StepRun("latest", "run-1", "train", "key-1", 3);
        var latestModel = Artifact("art-latest", "latest", "model");
        await Store.CreateStepRunAsync(latest, []);
        await Store.FinishStepRunAsync("latest", ExecutionStatus.Completed, At(4), null, [latestModel], [("model", "art-latest")]);
        await Store.CreateStepRunAsync(StepRun("failed", "run-1", "train", "key-1", 5), []);
        await Store.FinishStepRunAsync("failed", ExecutionStatus.Failed, At(6), "boom", [], []);
        await Store.CreateStepRunAsync(StepRun("running", "run-1", "train", "key-1", 7), []);
        await Store.CreateStepRunAsync(StepRun("only-failed", "run-1", "evaluate", "key-2", 8), []);
        await Store.FinishStepRunAsync("only-failed", ExecutionStatus.Failed, At(9), "boom", [], []);

        var hit = await Store.FindCachedAsync("key-1");
        Assert.NotNull(hit);
        Assert.Equal(latest with { Status = ExecutionStatus.Completed, FinishedAt = At(4) }, hit.Value.StepRun);
        Assert.Equal([new StepArtifactLink("latest", "model", latestModel)], hit.Value.Outputs);
        Assert.Null(await Store.FindCachedAsync("key-2"));
        Assert.Null(await Store.FindCachedAsync("key-3"));
    }

    [Fact]
    public async Task ListCached_gives_the_latest_completed_step_run_of_each_key_of_one_step_definition()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        async Task FinishAsync(string id, string name, string key, int at, ExecutionStatus status = ExecutionStatus.Completed, params string[] outputs)
        {
            await Store.CreateStepRunAsync(StepRun(id, "run-1", name, key, at), []);
            await Store.FinishStepRunAsync(id, status, At(at + 1), null, outputs.Select(o => Artifact($"{id}-{o}", id, o)).ToArray(),
                outputs.Select(o => (o, $"{id}-{o}")).ToArray());
        }
        await FinishAsync("a-old", "train", "key-a", 1, outputs: "model");
        await FinishAsync("a-new", "train", "key-a", 3, outputs: ["model", "metrics"]);
        await FinishAsync("a-failed", "train", "key-a", 5, ExecutionStatus.Failed);
        await FinishAsync("b", "train", "key-b", 7);
        await FinishAsync("other", "evaluate", "key-c", 9, outputs: "score");

        var listed = await Store.ListCachedAsync("App.Steps.train", "code-v1", limit: 10);
        Assert.NotNull(listed);
        Assert.True(listed.Value.Complete);
        var byKey = listed.Value.Entries.ToDictionary(e => e.CacheKey);
        Assert.Equal(["key-a", "key-b"], byKey.Keys.Order());
        Assert.Equal("a-new", byKey["key-a"].StepRunId);
        Assert.Equal([new StepArtifactLink("a-new", "metrics", Artifact("a-new-metrics", "a-new", "metrics")),
            new StepArtifactLink("a-new", "model", Artifact("a-new-model", "a-new", "model"))], byKey["key-a"].Outputs);
        Assert.Empty(byKey["key-b"].Outputs);
        Assert.Equal((await Store.FindCachedAsync("key-a"))!.Value.Outputs, byKey["key-a"].Outputs);

        Assert.Empty((await Store.ListCachedAsync("App.Steps.train", "code-v2", limit: 10))!.Value.Entries);
        var first = (await Store.ListCachedAsync("App.Steps.train", "code-v1", limit: 1))!.Value;
        Assert.False(first.Complete); // more step runs than were read: a key not listed may still have an entry
        Assert.Equal(["b"], first.Entries.Select(e => e.StepRunId)); // the most recently finished
        Assert.False((await Store.ListCachedAsync("App.Steps.train", "code-v1", limit: 3))!.Value.Complete);
        Assert.True((await Store.ListCachedAsync("App.Steps.train", "code-v1", limit: 4))!.Value.Complete);
    }

    // ---- artifacts ----

    [Fact]
    public async Task Artifacts_are_found_by_id_or_unique_prefix_and_listed_by_run()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.CreateRunAsync(Run("run-2", "training-2", 10));
        await Store.CreateStepRunAsync(StepRun("step-1", "run-1", "train"), []);
        await Store.CreateStepRunAsync(StepRun("step-2", "run-2", "train"), []);
        var a = Artifact("abcd1111", "step-1", "model", createdAt: 1);
        var b = Artifact("abcd2222", "step-1", "metrics", createdAt: 2);
        var c = Artifact("ef123456", "step-2", "model", createdAt: 3);
        await Store.FinishStepRunAsync("step-1", ExecutionStatus.Completed, At(2), null, [b, a], [("model", a.Id), ("metrics", b.Id)]);
        await Store.FinishStepRunAsync("step-2", ExecutionStatus.Completed, At(3), null, [c], [("model", c.Id)]);

        Assert.Equal(a, await Store.FindArtifactAsync("abcd1111"));
        Assert.Equal(a, await Store.FindArtifactAsync("abcd1"));
        Assert.Equal(c, await Store.FindArtifactAsync("ef12"));
        Assert.Null(await Store.FindArtifactAsync("ef1")); // too short for a prefix
        Assert.Null(await Store.FindArtifactAsync("9999"));
        await Assert.ThrowsAsync<StrataConfigException>(() => Store.FindArtifactAsync("abcd"));

        Assert.Equal([a, b], await Store.ListArtifactsAsync("run-1"));
        Assert.Equal([c], await Store.ListArtifactsAsync("run-2"));
        Assert.Empty(await Store.ListArtifactsAsync("run-3"));
        Assert.Equal([c, b, a], await Store.ListArtifactsAsync());
        Assert.Equal([c, b], await Store.ListArtifactsAsync(limit: 2));
        Assert.Equal([a], await Store.ListArtifactsAsync("run-1", limit: 1));
    }

    // ---- logs ----

    [Fact]
    public async Task Step_logs_are_saved_overwritten_and_read()
    {
        await Store.CreateRunAsync(Run("run-1", "training-1", 0));
        await Store.CreateStepRunAsync(StepRun("step-1", "run-1", "train"), []);
        Assert.Null(await Store.GetStepLogAsync("step-1"));

        await Store.SaveStepLogAsync("step-1", "epoch 1\n");
        Assert.Equal("epoch 1\n", await Store.GetStepLogAsync("step-1"));
        var full = string.Concat(Enumerable.Range(1, 2000).Select(i => $"epoch {i}: loss=0.{i} ✓\n"));
        await Store.SaveStepLogAsync("step-1", full);
        Assert.Equal(full, await Store.GetStepLogAsync("step-1"));
        Assert.Null(await Store.GetStepLogAsync("step-2"));
    }

    // ---- concurrency ----

    [Fact]
    public async Task Parallel_writers_through_separate_store_instances_lose_nothing()
    {
        const int writers = 8, runsEach = 50;
        var stores = await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => OpenTrackedAsync()));

        await Task.WhenAll(stores.Select((store, w) => Task.Run(async () =>
        {
            for (var i = 0; i < runsEach; i++)
                await store.CreateRunAsync(Run($"run-{w}-{i}", $"name-{w}-{i}", startedAt: w * runsEach + i));
        })));

        var runs = await Store.ListRunsAsync(limit: 1000);
        Assert.Equal(writers * runsEach, runs.Count);
        Assert.Equal(writers * runsEach, runs.Select(r => r.Id).Distinct().Count());
        Assert.Equal("run-7-49", runs[0].Id);
    }
}
