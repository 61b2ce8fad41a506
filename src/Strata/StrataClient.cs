namespace Strata;

/// <summary>
/// The entry point: opens the Strata home's store and runs pipelines on its active stack.
/// <code>
/// await using var strata = await StrataClient.OpenAsync();
/// var result = await strata.RunAsync(Training.Build);
/// </code>
/// or in one line: <c>await StrataClient.RunPipelineAsync(Training.Build);</c>
/// </summary>
public sealed class StrataClient : IAsyncDisposable
{
    private StrataClient(StrataHome home, IMetadataStore store, FlavorRegistry flavors, MaterializerRegistry materializers)
    {
        Home = home;
        Store = store;
        Materializers = materializers;
        Secrets = new SecretManager(store, home);
        Stacks = new StackManager(store, flavors, Secrets);
    }

    public StrataHome Home { get; }
    public IMetadataStore Store { get; }
    public StackManager Stacks { get; }
    public SecretManager Secrets { get; }
    public MaterializerRegistry Materializers { get; }

    /// <summary>
    /// The clock of this client's runs, waits and records (<see cref="RunOptions.TimeProvider"/> overrides it for one
    /// run). <value>Default: the system clock.</value>
    /// </summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Opens the store of <paramref name="home"/> (default: <see cref="StrataHome.Resolve"/>), creating it on first use.</summary>
    /// <exception cref="StoreException">The store is corrupt, newer than this Strata, or unreachable.</exception>
    public static async Task<StrataClient> OpenAsync(StrataHome? home = null, FlavorRegistry? flavors = null, MaterializerRegistry? materializers = null,
        CancellationToken cancellationToken = default)
    {
        home ??= StrataHome.Resolve();
        var store = await MetadataStores.OpenAsync(home, cancellationToken).ConfigureAwait(false);
        return new StrataClient(home, store, flavors ?? FlavorRegistry.Default, materializers ?? MaterializerRegistry.Default);
    }

    /// <summary>Opens the default home, runs a pipeline, and closes the store.</summary>
    public static async Task<RunResult> RunPipelineAsync(Action<PipelineBuilder> pipeline, RunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        await using var client = await OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return await client.RunAsync(pipeline, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds, validates and runs a pipeline method.</summary>
    /// <exception cref="PipelineValidationException">The wiring is wrong; nothing ran.</exception>
    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, RunOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(PipelineDefinition.Build(pipeline, materializers: Materializers), options, cancellationToken);

    /// <summary>Runs a built pipeline on the active stack (or <see cref="RunOptions.Stack"/>).</summary>
    /// <exception cref="StackValidationException">The stack cannot run the pipeline as asked; nothing ran.</exception>
    public async Task<RunResult> RunAsync(PipelineDefinition pipeline, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RunOptions();
        var stack = options.Stack is null
            ? await Stacks.GetActiveStackAsync(cancellationToken).ConfigureAwait(false)
            : await Stacks.GetStackAsync(options.Stack, cancellationToken).ConfigureAwait(false);
        var (orchestrator, plans, parallelism) = await PrepareAsync(pipeline, stack, options, cancellationToken).ConfigureAwait(false);
        try
        {
            return await orchestrator.RunAsync(pipeline, plans, stack.Name, parallelism, options.NoCache, options.RunName, SourceOf(pipeline),
                RunConfig.Of(options),
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DisposeOperatorsAsync(plans).ConfigureAwait(false);
        }
    }

    /// <summary>The run's step operators were built for it: they go when it ends.</summary>
    private static async Task DisposeOperatorsAsync(IReadOnlyDictionary<StepNode, StepPlan> plans)
    {
        foreach (var op in plans.Values.Select(p => p.Operator).OfType<StepOperator>().Distinct())
            await op.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Runs again the steps of a run that failed, were cancelled, were interrupted or never started, with the same code and
    /// inputs, keeping the outputs of steps that completed. A job an interrupted orchestrator left on a step operator is
    /// re-attached to (followed to its end, or its result collected if it ended meanwhile) when the step still runs there
    /// with the same inputs; otherwise it is cancelled and the step runs again.
    /// </summary>
    /// <exception cref="StrataConfigException">No such run, it completed, or its pipeline cannot be found again.</exception>
    public async Task<RunResult> ResumeAsync(string run, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RunOptions();
        var record = await Store.FindRunAsync(run, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"No run '{run}'; see `strata run list`.");
        if (record.Status == ExecutionStatus.Completed)
            throw new StrataConfigException($"Run {record.Name} completed; there is nothing to resume.");
        var pipeline = PipelineDefinition.Build(PipelineSource.Find(record), record.Pipeline, Materializers);
        var stack = await Stacks.GetStackAsync(record.Stack, cancellationToken).ConfigureAwait(false);
        (options, var fromRun) = RunConfig.ForResume(options, record);
        if (fromRun)
            options.Observer?.Warning($"resuming with the config the run was started with ({string.Join(", ", options.Steps.Keys)}); --config replaces it");
        var (orchestrator, plans, parallelism) = await PrepareAsync(pipeline, stack, options, cancellationToken).ConfigureAwait(false);
        try
        {
            return await ResumeAsync(record, pipeline, orchestrator, plans, parallelism, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await DisposeOperatorsAsync(plans).ConfigureAwait(false);
        }
    }

    private async Task<RunResult> ResumeAsync(RunRecord record, PipelineDefinition pipeline, LocalOrchestrator orchestrator,
        IReadOnlyDictionary<StepNode, StepPlan> plans, int parallelism, CancellationToken cancellationToken)
    {
        var steps = await Store.ListStepRunsAsync(record.Id, cancellationToken).ConfigureAwait(false);
        // A job left running on the operator its step still uses can be followed again; the others are stopped.
        var operatorOf = plans.Values.ToDictionary(p => p.Node.Name, p => p.OperatorName);
        var reattachable = steps
            .Where(s => !s.Status.IsFinished() && s.Job is not null && s.StepOperator is not null && operatorOf.GetValueOrDefault(s.Name) == s.StepOperator)
            .GroupBy(s => s.Name)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Attempt).Last());
        await StopLeftoversAsync(record, steps.Where(s => !reattachable.Values.Contains(s)).ToArray(), "interrupted; resumed",
            cancellationToken).ConfigureAwait(false);
        var outputs = (await Store.GetStepOutputsAsync(record.Id, cancellationToken).ConfigureAwait(false)).ToLookup(o => o.StepRunId);
        var succeeded = steps.Where(s => s.Status.IsSuccess())
            .GroupBy(s => s.Name)
            .ToDictionary(g => g.Key, g =>
            {
                var latest = g.OrderBy(s => s.FinishedAt).Last();
                return (latest, (IReadOnlyList<StepArtifactLink>)outputs[latest.Id].ToArray());
            });
        var attempts = steps.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Max(s => s.Attempt));
        return await orchestrator.ResumeAsync(record, pipeline, plans, parallelism, new PriorRun(succeeded, attempts, reattachable),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cancels a run from any process: asks the process running it to cancel its jobs and waits up to <paramref name="wait"/>;
    /// if that process is gone, cancels the run's jobs through their step operators itself.
    /// </summary>
    /// <returns>The run as it ended.</returns>
    public async Task<RunRecord> CancelRunAsync(string run, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var record = await Store.FindRunAsync(run, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"No run '{run}'; see `strata run list`.");
        if (record.Status.IsFinished())
            throw new StrataConfigException($"Run {record.Name} already ended ({record.Status.ToString().ToLowerInvariant()}).");
        await Store.RequestCancelAsync(record.Id, cancellationToken).ConfigureAwait(false);
        var deadline = Time.GetUtcNow() + wait;
        while (Time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), Time, cancellationToken).ConfigureAwait(false);
            var now = await Store.FindRunAsync(record.Id, cancellationToken).ConfigureAwait(false);
            if (now is not null && now.Status.IsFinished()) return now;
        }
        // Nobody is running it any more: stop its jobs from here, through the handles they left.
        var steps = await Store.ListStepRunsAsync(record.Id, cancellationToken).ConfigureAwait(false);
        await StopLeftoversAsync(record, steps, "cancelled", cancellationToken).ConfigureAwait(false);
        await Store.FinishRunAsync(record.Id, ExecutionStatus.Cancelled, Time.GetUtcNow(), "cancelled", cancellationToken).ConfigureAwait(false);
        return (await Store.FindRunAsync(record.Id, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// The log of a step run's job as its step operator streams it while the job runs (from the start of the log), for following a running
    /// step from another process; nothing for a step that runs in process or has no job yet. The complete log is stored with the step
    /// run when it ends (<see cref="IMetadataStore.GetStepLogAsync"/>).
    /// </summary>
    public async IAsyncEnumerable<string> StreamStepLogAsync(string stepRunId,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var step = await Store.GetStepRunAsync(stepRunId, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"No step run '{stepRunId}'.");
        if (step.Job is null || step.StepOperator is null || step.Status.IsFinished()) yield break;
        var job = System.Text.Json.JsonSerializer.Deserialize<StepJob>(step.Job, StrataJson.Compact)!;
        var run = await Store.FindRunAsync(step.RunId, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"No run '{step.RunId}'.");
        var artifacts = await GetArtifactStoreAsync(run.Stack, cancellationToken).ConfigureAwait(false);
        await using var op = await Stacks.CreateStepOperatorAsync(step.StepOperator, new StepOperatorContext(Home, artifacts) { Time = Time },
            cancellationToken).ConfigureAwait(false);
        await foreach (var line in op.StreamLogsAsync(job, cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>Cancels the jobs of step runs still marked running and records them as failed (interrupted) or cancelled.</summary>
    private async Task StopLeftoversAsync(RunRecord run, IReadOnlyList<StepRunRecord> steps, string reason, CancellationToken cancellationToken)
    {
        var artifacts = await GetArtifactStoreAsync(run.Stack, cancellationToken).ConfigureAwait(false);
        foreach (var step in steps.Where(s => !s.Status.IsFinished()))
        {
            if (step.Job is not null && step.StepOperator is not null)
            {
                var job = System.Text.Json.JsonSerializer.Deserialize<StepJob>(step.Job, StrataJson.Compact)!;
                await using var op = await Stacks.CreateStepOperatorAsync(step.StepOperator, new StepOperatorContext(Home, artifacts),
                    cancellationToken).ConfigureAwait(false);
                await op.CancelAsync(job, cancellationToken).ConfigureAwait(false);
            }
            var status = reason == "cancelled" ? ExecutionStatus.Cancelled : ExecutionStatus.Failed;
            await Store.FinishStepRunAsync(step.Id, status, Time.GetUtcNow(), reason, [], [], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(LocalOrchestrator, IReadOnlyDictionary<StepNode, StepPlan>, int)> PrepareAsync(
        PipelineDefinition pipeline, StackRecord stack, RunOptions options, CancellationToken cancellationToken)
    {
        var orchestratorConfig = await Stacks.GetConfigAsync(ComponentType.Orchestrator, stack.Single(ComponentType.Orchestrator)!,
            cancellationToken).ConfigureAwait(false);
        var parallelism = options.MaxParallelism
            ?? (orchestratorConfig is LocalOrchestratorConfig { MaxParallelism: > 0 } local ? local.MaxParallelism : Environment.ProcessorCount);
        var artifacts = await Stacks.CreateArtifactStoreAsync(stack, Home, cancellationToken).ConfigureAwait(false);
        var time = options.TimeProvider ?? Time;
        var context = new StepOperatorContext(Home, artifacts)
        {
            Time = time, ContainerRegistry = await Stacks.CreateContainerRegistryAsync(stack, cancellationToken).ConfigureAwait(false),
        };
        var (plans, warnings) = await RunPlanner.PlanAsync(pipeline, stack, Stacks, Secrets, context, options.Steps, cancellationToken).ConfigureAwait(false);
        var observer = options.Observer ?? new ConsoleRunReporter();
        foreach (var warning in warnings) observer.Warning(warning);
        var images = await JobImages.ProvideAsync(plans.Values, pipeline.Name, stack, Stacks, Home, observer, cancellationToken).ConfigureAwait(false);
        var locator = await Stacks.ArtifactStoreLocatorAsync(stack, artifacts, cancellationToken).ConfigureAwait(false);
        var inProcess = new InProcessStepLauncher();
        var remote = new Dictionary<StepPlan, IStepLauncher>();
        IStepLauncher LauncherFor(StepPlan plan)
        {
            if (plan.Operator is null) return inProcess;
            lock (remote)
            {
                if (!remote.TryGetValue(plan, out var launcher))
                    remote[plan] = launcher = new RemoteStepLauncher(plan, images.GetValueOrDefault(plan), Store, Secrets, locator, observer, time);
                return launcher;
            }
        }
        return (new LocalOrchestrator(Store, artifacts, Materializers, observer, LauncherFor, time), plans, parallelism);
    }

    private static string? SourceOf(PipelineDefinition pipeline) => pipeline.Method is { } m ? PipelineSource.Of(m) : null;

    /// <summary>The artifact store of the active stack, for reading outputs.</summary>
    public async Task<ArtifactStore> GetArtifactStoreAsync(string? stack = null, CancellationToken cancellationToken = default)
    {
        var record = stack is null
            ? await Stacks.GetActiveStackAsync(cancellationToken).ConfigureAwait(false)
            : await Stacks.GetStackAsync(stack, cancellationToken).ConfigureAwait(false);
        return await Stacks.CreateArtifactStoreAsync(record, Home, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes what finished runs left on disk (<c>strata gc</c>): step working directories, the directories of standby
    /// processes that ended, temporary files of artifact writes that never finished, and artifacts in a local artifact
    /// store that no record names once their run is over. Nothing of a run still running is touched.
    /// </summary>
    /// <param name="dryRun">Only find them; remove nothing.</param>
    /// <param name="cancellationToken">Stops the search.</param>
    public Task<GarbageCollection> CollectGarbageAsync(bool dryRun, CancellationToken cancellationToken = default) =>
        new GarbageCollector(Home, Store, Time).CollectAsync(dryRun, cancellationToken);

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}
