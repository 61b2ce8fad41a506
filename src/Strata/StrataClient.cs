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
    public static async Task<RunResult> RunPipelineAsync(Action<PipelineBuilder> pipeline, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        await using var client = await OpenAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return await client.RunAsync(pipeline, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds, validates and runs a pipeline method.</summary>
    /// <exception cref="PipelineValidationException">The wiring is wrong; nothing ran.</exception>
    public Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, RunOptions? options = null, CancellationToken cancellationToken = default) =>
        RunAsync(PipelineDefinition.Build(pipeline, materializers: Materializers), options, cancellationToken);

    /// <summary>Runs a built pipeline on the active stack (or <see cref="RunOptions.Stack"/>).</summary>
    public async Task<RunResult> RunAsync(PipelineDefinition pipeline, RunOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new RunOptions();
        var stack = options.Stack is null
            ? await Stacks.GetActiveStackAsync(cancellationToken).ConfigureAwait(false)
            : await Stacks.GetStackAsync(options.Stack, cancellationToken).ConfigureAwait(false);
        var orchestratorConfig = await Stacks.GetConfigAsync(ComponentType.Orchestrator, stack.Single(ComponentType.Orchestrator)!, cancellationToken).ConfigureAwait(false);
        var parallelism = options.MaxParallelism
            ?? (orchestratorConfig is LocalOrchestratorConfig { MaxParallelism: > 0 } local ? local.MaxParallelism : Environment.ProcessorCount);
        var artifacts = await Stacks.CreateArtifactStoreAsync(stack, Home, cancellationToken).ConfigureAwait(false);
        var orchestrator = new LocalOrchestrator(Store, artifacts, Materializers, options.Observer ?? new ConsoleRunReporter());
        return await orchestrator.RunAsync(pipeline, stack.Name, parallelism, options.NoCache, options.RunName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The artifact store of the active stack, for reading outputs.</summary>
    public async Task<ArtifactStore> GetArtifactStoreAsync(string? stack = null, CancellationToken cancellationToken = default)
    {
        var record = stack is null
            ? await Stacks.GetActiveStackAsync(cancellationToken).ConfigureAwait(false)
            : await Stacks.GetStackAsync(stack, cancellationToken).ConfigureAwait(false);
        return await Stacks.CreateArtifactStoreAsync(record, Home, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => Store.DisposeAsync();
}
