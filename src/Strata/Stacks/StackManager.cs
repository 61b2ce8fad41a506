namespace Strata.Stacks;

/// <summary>Registers, changes and removes stack components and stacks, checking every input before writing anything.</summary>
public sealed class StackManager
{
    public const string DefaultStack = "default";

    /// <summary>The <c>local-process</c> step operator the default stack carries.</summary>
    public const string DefaultStepOperator = "local";
    private const string ActiveStackKey = "active_stack";
    private readonly IMetadataStore _store;
    private readonly FlavorRegistry _flavors;
    private readonly SecretManager _secrets;

    internal StackManager(IMetadataStore store, FlavorRegistry flavors, SecretManager secrets)
    {
        _store = store;
        _flavors = flavors;
        _secrets = secrets;
    }

    public FlavorRegistry Flavors => _flavors;

    /// <summary>
    /// A component's config as it may be shown: the value of a field its flavor marks secret is <c>********</c>, unless it is a
    /// <c>{{secret.key}}</c> reference, which is shown as written (an unknown flavor masks nothing it cannot tell).
    /// </summary>
    public IReadOnlyDictionary<string, string> MaskedConfig(ComponentRecord component)
    {
        ArgumentNullException.ThrowIfNull(component);
        HashSet<string> secret;
        try { secret = _flavors.Get(component.Type, component.Flavor).Schema.Fields.Where(f => f.Secret).Select(f => f.Name).ToHashSet(); }
        catch (StrataException) { secret = []; }
        return component.Config.ToDictionary(kv => kv.Key,
            kv => secret.Contains(kv.Key) && !ConfigSchema.IsSecretReference(kv.Value) ? Masked : kv.Value);
    }

    /// <summary>What a masked config value shows.</summary>
    public const string Masked = "********";

    // ---- components ----

    public Task<ComponentRecord> RegisterComponentAsync(ComponentType type, string name, string flavor, IReadOnlyDictionary<string, string> config,
        CancellationToken cancellationToken = default) =>
        RegisterComponentAsync(type, name, flavor, config, warnings: null, cancellationToken);

    /// <summary>
    /// Registers a component. <paramref name="warnings"/> receives a warning for each field the flavor marks secret that is
    /// given in plain text rather than as a <c>{{NAME.key}}</c> reference.
    /// </summary>
    public async Task<ComponentRecord> RegisterComponentAsync(ComponentType type, string name, string flavor, IReadOnlyDictionary<string, string> config,
        ICollection<string>? warnings, CancellationToken cancellationToken = default)
    {
        CheckName(name, ComponentTypes.CliName(type));
        var f = _flavors.Get(type, flavor);
        var context = $"{ComponentTypes.CliName(type)} '{name}' (flavor '{flavor}')";
        var values = f.Schema.Validate(config, requireAll: true, context);
        SecretReferences.CheckSyntax(values, context);
        foreach (var warning in SecretReferences.PlainTextWarnings(f.Schema, values, $"{ComponentTypes.CliName(type)} '{name}'")) warnings?.Add(warning);
        var now = TimeProvider.System.GetUtcNow();
        var record = new ComponentRecord(Guid.CreateVersion7().ToString(), name, type, flavor, values, now, now);
        await _store.AddComponentAsync(record, cancellationToken).ConfigureAwait(false);
        return record;
    }

    /// <summary>Changes some config values of a component; the rest stay. An empty value removes a key.</summary>
    public Task<ComponentRecord> UpdateComponentAsync(ComponentType type, string name, IReadOnlyDictionary<string, string> changes,
        CancellationToken cancellationToken = default) =>
        UpdateComponentAsync(type, name, changes, warnings: null, cancellationToken);

    /// <summary>
    /// Changes some config values of a component; the rest stay. An empty value removes a key. <paramref name="warnings"/>
    /// receives a warning for each changed field the flavor marks secret that is given in plain text rather than as a reference.
    /// </summary>
    public async Task<ComponentRecord> UpdateComponentAsync(ComponentType type, string name, IReadOnlyDictionary<string, string> changes,
        ICollection<string>? warnings, CancellationToken cancellationToken = default)
    {
        var existing = await GetComponentAsync(type, name, cancellationToken).ConfigureAwait(false);
        var f = _flavors.Get(type, existing.Flavor);
        var merged = new Dictionary<string, string>(existing.Config);
        foreach (var (k, v) in f.Schema.Validate(changes.Where(c => c.Value.Length > 0).ToDictionary(), requireAll: false,
            $"{ComponentTypes.CliName(type)} '{name}' (flavor '{existing.Flavor}')"))
            merged[k] = v;
        foreach (var removed in changes.Where(c => c.Value.Length == 0))
            merged.Remove(f.Schema.CanonicalKey(removed.Key));
        var context = $"{ComponentTypes.CliName(type)} '{name}' (flavor '{existing.Flavor}')";
        var values = f.Schema.Validate(merged, requireAll: true, context);
        SecretReferences.CheckSyntax(values, context);
        var changedKeys = changes.Keys.Select(f.Schema.CanonicalKey).ToHashSet();
        var changed = values.Where(kv => changedKeys.Contains(kv.Key)).ToDictionary();
        foreach (var warning in SecretReferences.PlainTextWarnings(f.Schema, changed, $"{ComponentTypes.CliName(type)} '{name}'")) warnings?.Add(warning);
        await _store.UpdateComponentAsync(type, name, values, cancellationToken).ConfigureAwait(false);
        return await GetComponentAsync(type, name, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteComponentAsync(ComponentType type, string name, CancellationToken cancellationToken = default)
    {
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        await _store.DeleteComponentAsync(type, name, cancellationToken).ConfigureAwait(false);
    }

    /// <exception cref="StrataConfigException">No such component.</exception>
    public async Task<ComponentRecord> GetComponentAsync(ComponentType type, string name, CancellationToken cancellationToken = default)
    {
        // The default components exist from the first use of a store, whichever command comes first.
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        return await _store.GetComponentAsync(type, name, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"No {ComponentTypes.CliName(type)} named '{name}'; see `strata {ComponentTypes.CliName(type)} list`.");
    }

    public async Task<IReadOnlyList<ComponentRecord>> ListComponentsAsync(ComponentType type, CancellationToken cancellationToken = default)
    {
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        return await _store.ListComponentsAsync(type, cancellationToken).ConfigureAwait(false);
    }

    // ---- stacks ----

    public async Task<StackRecord> RegisterStackAsync(string name, string orchestrator, string artifactStore, IReadOnlyList<string>? stepOperators = null,
        string? containerRegistry = null, string? imageBuilder = null, bool setActive = false, CancellationToken cancellationToken = default)
    {
        CheckName(name, "stack");
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        var members = await MembersAsync(orchestrator, artifactStore, stepOperators ?? [], containerRegistry, imageBuilder,
            cancellationToken).ConfigureAwait(false);
        var now = TimeProvider.System.GetUtcNow();
        await _store.AddStackAsync(new StackRecord(Guid.CreateVersion7().ToString(), name, members, now, now), cancellationToken).ConfigureAwait(false);
        if (setActive) await _store.SetSettingAsync(ActiveStackKey, name, cancellationToken).ConfigureAwait(false);
        return await GetStackAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces the given parts of a stack; null leaves a part as it is. Step operators given replace the list.</summary>
    public async Task<StackRecord> UpdateStackAsync(string name, string? orchestrator = null, string? artifactStore = null,
        IReadOnlyList<string>? stepOperators = null,
        string? containerRegistry = null, string? imageBuilder = null, CancellationToken cancellationToken = default)
    {
        var stack = await GetStackAsync(name, cancellationToken).ConfigureAwait(false);
        var members = await MembersAsync(
            orchestrator ?? stack.Single(ComponentType.Orchestrator)!,
            artifactStore ?? stack.Single(ComponentType.ArtifactStore)!,
            stepOperators ?? stack.All(ComponentType.StepOperator),
            containerRegistry == "" ? null : containerRegistry ?? stack.Single(ComponentType.ContainerRegistry),
            imageBuilder == "" ? null : imageBuilder ?? stack.Single(ComponentType.ImageBuilder),
            cancellationToken).ConfigureAwait(false);
        await _store.ReplaceStackComponentsAsync(name, members, cancellationToken).ConfigureAwait(false);
        return await GetStackAsync(name, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<StackMember>> MembersAsync(string orchestrator, string artifactStore, IReadOnlyList<string> stepOperators,
        string? containerRegistry, string? imageBuilder, CancellationToken cancellationToken)
    {
        var members = new List<StackMember>();
        var missing = new List<string>();
        async Task AddAsync(ComponentType type, string componentName, int position)
        {
            if (await _store.GetComponentAsync(type, componentName, cancellationToken).ConfigureAwait(false) is null)
                missing.Add($"no {ComponentTypes.CliName(type)} named '{componentName}' (register it with `strata {ComponentTypes.CliName(type)} register " +
                    $"{componentName} --flavor=...`)");
            else members.Add(new StackMember(type, componentName, position));
        }
        await AddAsync(ComponentType.Orchestrator, orchestrator, 0).ConfigureAwait(false);
        await AddAsync(ComponentType.ArtifactStore, artifactStore, 0).ConfigureAwait(false);
        var duplicates = stepOperators.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
        if (duplicates.Length > 0) missing.Add($"step operator(s) {string.Join(", ", duplicates)} given more than once");
        for (var i = 0; i < stepOperators.Count; i++)
            if (!duplicates.Contains(stepOperators[i]) || stepOperators.ToList().IndexOf(stepOperators[i]) == i)
                await AddAsync(ComponentType.StepOperator, stepOperators[i], i).ConfigureAwait(false);
        if (containerRegistry is not null) await AddAsync(ComponentType.ContainerRegistry, containerRegistry, 0).ConfigureAwait(false);
        if (imageBuilder is not null) await AddAsync(ComponentType.ImageBuilder, imageBuilder, 0).ConfigureAwait(false);
        if (missing.Count > 0)
            throw new StrataConfigException("Cannot build the stack: " + string.Join("; ", missing) + ".");
        return members;
    }

    public async Task DeleteStackAsync(string name, CancellationToken cancellationToken = default)
    {
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        await _store.DeleteStackAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <exception cref="StrataConfigException">No such stack.</exception>
    public async Task<StackRecord> GetStackAsync(string name, CancellationToken cancellationToken = default)
    {
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        return await _store.GetStackAsync(name, cancellationToken).ConfigureAwait(false)
            ?? throw new StrataConfigException($"No stack named '{name}'; see `strata stack list`.");
    }

    public async Task<IReadOnlyList<StackRecord>> ListStacksAsync(CancellationToken cancellationToken = default)
    {
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        return await _store.ListStacksAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SetActiveStackAsync(string name, CancellationToken cancellationToken = default)
    {
        await GetStackAsync(name, cancellationToken).ConfigureAwait(false);
        await _store.SetSettingAsync(ActiveStackKey, name, cancellationToken).ConfigureAwait(false);
    }

    public async Task<StackRecord> GetActiveStackAsync(CancellationToken cancellationToken = default)
    {
        await EnsureDefaultStackAsync(cancellationToken).ConfigureAwait(false);
        var name = await _store.GetSettingAsync(ActiveStackKey, cancellationToken).ConfigureAwait(false) ?? DefaultStack;
        return await GetStackAsync(name, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the <c>default</c> stack (local orchestrator, local artifact store, a <c>local-process</c> step operator named <c>local</c>) the first
    /// time a store is used.</summary>
    public async Task EnsureDefaultStackAsync(CancellationToken cancellationToken = default)
    {
        if (await _store.GetSettingAsync(ActiveStackKey, cancellationToken).ConfigureAwait(false) is not null)
            return;
        var now = TimeProvider.System.GetUtcNow();
        var empty = new Dictionary<string, string>();
        // Another process may be creating the same defaults at this moment: each part it added first is simply there.
        async Task TolerateDuplicateAsync(Func<Task> add)
        {
            try { await add().ConfigureAwait(false); }
            catch (StrataConfigException) { }
        }
        if (await _store.GetComponentAsync(ComponentType.Orchestrator, DefaultStack, cancellationToken).ConfigureAwait(false) is null)
            await TolerateDuplicateAsync(() =>
                _store.AddComponentAsync(
                    new ComponentRecord(Guid.CreateVersion7().ToString(), DefaultStack, ComponentType.Orchestrator, "local", empty, now, now),
                    cancellationToken)).ConfigureAwait(false);
        if (await _store.GetComponentAsync(ComponentType.ArtifactStore, DefaultStack, cancellationToken).ConfigureAwait(false) is null)
            await TolerateDuplicateAsync(() =>
                _store.AddComponentAsync(
                    new ComponentRecord(Guid.CreateVersion7().ToString(), DefaultStack, ComponentType.ArtifactStore, "local", empty, now, now),
                    cancellationToken)).ConfigureAwait(false);
        if (await _store.GetComponentAsync(ComponentType.StepOperator, DefaultStepOperator, cancellationToken).ConfigureAwait(false) is null)
            await TolerateDuplicateAsync(() =>
                _store.AddComponentAsync(
                    new ComponentRecord(Guid.CreateVersion7().ToString(), DefaultStepOperator, ComponentType.StepOperator, "local-process", empty, now, now),
                    cancellationToken)).ConfigureAwait(false);
        if (await _store.GetStackAsync(DefaultStack, cancellationToken).ConfigureAwait(false) is null)
            await TolerateDuplicateAsync(() => _store.AddStackAsync(new StackRecord(Guid.CreateVersion7().ToString(), DefaultStack,
                [new StackMember(ComponentType.Orchestrator, DefaultStack, 0), new StackMember(ComponentType.ArtifactStore, DefaultStack, 0),
                 new StackMember(ComponentType.StepOperator, DefaultStepOperator, 0)], now, now), cancellationToken)).ConfigureAwait(false);
        if (await _store.GetSettingAsync(ActiveStackKey, cancellationToken).ConfigureAwait(false) is null)
            await _store.SetSettingAsync(ActiveStackKey, DefaultStack, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the artifact store of a stack from its component's config.</summary>
    public async Task<ArtifactStore> CreateArtifactStoreAsync(StackRecord stack, StrataHome home, CancellationToken cancellationToken = default)
    {
        var component = await GetComponentAsync(ComponentType.ArtifactStore, stack.Single(ComponentType.ArtifactStore)!,
            cancellationToken).ConfigureAwait(false);
        var flavor = (ArtifactStoreFlavor)_flavors.Get(ComponentType.ArtifactStore, component.Flavor);
        return flavor.Create(await BindAsync(flavor, component, cancellationToken).ConfigureAwait(false), home);
    }

    /// <summary>Builds a stack's container registry from its component's config (secret references resolved); null when the stack has none.</summary>
    public async Task<ContainerRegistry?> CreateContainerRegistryAsync(StackRecord stack, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (stack.Single(ComponentType.ContainerRegistry) is not { } name) return null;
        var component = await GetComponentAsync(ComponentType.ContainerRegistry, name, cancellationToken).ConfigureAwait(false);
        var flavor = (ContainerRegistryFlavor)_flavors.Get(ComponentType.ContainerRegistry, component.Flavor);
        return flavor.Create(await BindAsync(flavor, component, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Builds a stack's image builder from its component's config (secret references resolved); null when the stack has none.</summary>
    public async Task<ImageBuilder?> CreateImageBuilderAsync(StackRecord stack, StrataHome home, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (stack.Single(ComponentType.ImageBuilder) is not { } name) return null;
        var component = await GetComponentAsync(ComponentType.ImageBuilder, name, cancellationToken).ConfigureAwait(false);
        var flavor = (ImageBuilderFlavor)_flavors.Get(ComponentType.ImageBuilder, component.Flavor);
        return flavor.Create(await BindAsync(flavor, component, cancellationToken).ConfigureAwait(false), home);
    }

    /// <summary>A component's config values ready for use: secret references resolved. For use, never for showing.</summary>
    public Task<IReadOnlyDictionary<string, string>> ResolveConfigAsync(ComponentRecord component, CancellationToken cancellationToken = default) =>
        SecretReferences.ResolveAsync(component.Config, _secrets, $"{ComponentTypes.CliName(component.Type)} '{component.Name}'", cancellationToken);

    /// <summary>
    /// Builds a step operator component from its config (secret references resolved), for a run or to reach a job after
    /// a restart. The caller disposes it when done.
    /// </summary>
    public async Task<StepOperator> CreateStepOperatorAsync(string name, StepOperatorContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var component = await GetComponentAsync(ComponentType.StepOperator, name, cancellationToken).ConfigureAwait(false);
        var flavor = (StepOperatorFlavor)_flavors.Get(ComponentType.StepOperator, component.Flavor);
        var op = flavor.Create(await BindAsync(flavor, component, cancellationToken).ConfigureAwait(false), context);
        op.Name = name;
        return op;
    }

    /// <summary>How a job reaches a stack's artifact store: its flavor and its config without secret fields (jobs use their own credentials).</summary>
    internal async Task<ArtifactStoreLocator> ArtifactStoreLocatorAsync(StackRecord stack, ArtifactStore artifacts,
        CancellationToken cancellationToken = default)
    {
        var component = await GetComponentAsync(ComponentType.ArtifactStore, stack.Single(ComponentType.ArtifactStore)!,
            cancellationToken).ConfigureAwait(false);
        var secret = _flavors.Get(ComponentType.ArtifactStore, component.Flavor).Schema.Fields.Where(f => f.Secret).Select(f => f.Name).ToHashSet();
        var config = component.Config.Where(kv => !secret.Contains(kv.Key) && !ConfigSchema.IsSecretReference(kv.Value))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        // A job must find the very directory this process uses, wherever it starts.
        if (artifacts is LocalArtifactStore local && !config.ContainsKey("path"))
            config["path"] = local.Root;
        return new ArtifactStoreLocator(component.Flavor, config);
    }

    /// <summary>The typed config of a component, with <c>{{NAME.key}}</c> secret references resolved. For use, never for showing.</summary>
    /// <exception cref="StrataConfigException">No such component, or a referenced secret or key does not exist.</exception>
    public async Task<object> GetConfigAsync(ComponentType type, string name, CancellationToken cancellationToken = default)
    {
        var component = await GetComponentAsync(type, name, cancellationToken).ConfigureAwait(false);
        return await BindAsync(_flavors.Get(type, component.Flavor), component, cancellationToken).ConfigureAwait(false);
    }

    private async Task<object> BindAsync(Flavor flavor, ComponentRecord component, CancellationToken cancellationToken)
    {
        var context = $"{ComponentTypes.CliName(component.Type)} '{component.Name}'";
        var resolved = await SecretReferences.ResolveAsync(component.Config, _secrets, context, cancellationToken).ConfigureAwait(false);
        var fromSecrets = component.Config.Where(kv => SecretReferences.Contains(kv.Value)).Select(kv => kv.Key).ToHashSet();
        return flavor.Schema.Bind(resolved, fromSecrets);
    }

    // ---- export / import ----

    /// <summary>A stack with the flavor and config of each of its components, for sharing as a file.</summary>
    public async Task<StackDocument> ExportAsync(string name, CancellationToken cancellationToken = default)
    {
        var stack = await GetStackAsync(name, cancellationToken).ConfigureAwait(false);
        var components = new List<StackDocumentComponent>();
        foreach (var m in stack.Components.OrderBy(c => c.Type).ThenBy(c => c.Position))
        {
            var c = await GetComponentAsync(m.Type, m.Name, cancellationToken).ConfigureAwait(false);
            components.Add(new StackDocumentComponent
            {
                Type = ComponentTypes.CliName(m.Type), Name = c.Name, Flavor = c.Flavor, Config = new Dictionary<string, string>(c.Config)
            });
        }
        return new StackDocument { Name = stack.Name, Components = components };
    }

    /// <summary>Registers a stack from a document; components that exist with the same flavor and config are reused.</summary>
    public async Task<StackRecord> ImportAsync(StackDocument document, string? name = null, CancellationToken cancellationToken = default)
    {
        var stackName = name ?? document.Name;
        if (string.IsNullOrWhiteSpace(stackName)) throw new StrataConfigException("The stack file has no 'name'.");
        CheckName(stackName, "stack");
        if (await _store.GetStackAsync(stackName, cancellationToken).ConfigureAwait(false) is not null)
            throw new StrataConfigException($"A stack named '{stackName}' already exists; import under another name with --name.");
        var toCreate = new List<(ComponentType, StackDocumentComponent, IReadOnlyDictionary<string, string>)>();
        foreach (var c in document.Components)
        {
            var type = ComponentTypes.Parse(c.Type);
            CheckName(c.Name, c.Type);
            var flavor = _flavors.Get(type, c.Flavor);
            var values = flavor.Schema.Validate(c.Config, requireAll: true, $"{c.Type} '{c.Name}' (flavor '{c.Flavor}')");
            SecretReferences.CheckSyntax(values, $"{c.Type} '{c.Name}' (flavor '{c.Flavor}')");
            var existing = await _store.GetComponentAsync(type, c.Name, cancellationToken).ConfigureAwait(false);
            if (existing is null) toCreate.Add((type, c, values));
            else if (existing.Flavor != c.Flavor || !existing.Config.OrderBy(kv => kv.Key).SequenceEqual(values.OrderBy(kv => kv.Key)))
                throw new StrataConfigException($"{ComponentTypes.WithArticle(type, capitalized: true)} named '{c.Name}' already exists with another " +
                    "flavor or config; rename it in the file or delete the existing one.");
        }
        string? Only(ComponentType t) => document.Components.Where(c => ComponentTypes.Parse(c.Type) == t).Select(c => c.Name).FirstOrDefault();
        var orchestrator = Only(ComponentType.Orchestrator) ?? throw new StrataConfigException("The stack file has no orchestrator.");
        var artifactStore = Only(ComponentType.ArtifactStore) ?? throw new StrataConfigException("The stack file has no artifact-store.");
        foreach (var (type, c, values) in toCreate)
            await RegisterComponentAsync(type, c.Name, c.Flavor, values, cancellationToken).ConfigureAwait(false);
        return await RegisterStackAsync(stackName, orchestrator, artifactStore,
            document.Components.Where(c => ComponentTypes.Parse(c.Type) == ComponentType.StepOperator).Select(c => c.Name).ToArray(),
            Only(ComponentType.ContainerRegistry), Only(ComponentType.ImageBuilder), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static void CheckName(string name, string what)
    {
        if (!PipelineNames.Valid().IsMatch(name))
            throw new StrataConfigException($"'{name}' is not a valid {what} name: use letters, digits, '_', '-' and '.' (up to 128, starting with a letter " +
                "or digit).");
    }
}

/// <summary>A stack as a file (<c>strata stack export</c> / <c>import</c>).</summary>
public sealed class StackDocument
{
    public string Name { get; set; } = "";
    public List<StackDocumentComponent> Components { get; set; } = [];
}

public sealed class StackDocumentComponent
{
    public string Type { get; set; } = "";
    public string Name { get; set; } = "";
    public string Flavor { get; set; } = "";
    public Dictionary<string, string> Config { get; set; } = [];
}
