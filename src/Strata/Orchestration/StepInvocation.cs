namespace Strata;

/// <summary>An output of a step run as the run keeps it: the recorded artifact and, when produced here, the value itself.</summary>
internal sealed class OutputSlot(ArtifactRecord artifact, bool hasValue, object? value)
{
    public ArtifactRecord Artifact { get; } = artifact;
    public bool HasValue { get; private set; } = hasValue;
    public object? Value { get; private set; } = value;

    public async Task<object?> GetAsync(ArtifactStore store, MaterializerRegistry materializers, Type type, CancellationToken cancellationToken)
    {
        if (HasValue && (Value is null || type.IsInstanceOfType(Value))) return Value;
        var loaded = await ArtifactIO.LoadAsync(store, materializers, Artifact, type, cancellationToken).ConfigureAwait(false);
        Value = loaded;
        HasValue = true;
        return loaded;
    }
}

/// <summary>
/// How one parameter of a step invocation gets its value: a literal (with its JSON form, for manifests),
/// or one or more upstream artifacts. <see cref="Assemble"/>: the parameter takes a whole tuple or record,
/// rebuilt from all of <see cref="Source"/>'s outputs.
/// </summary>
internal sealed record StepArgument(StepParameter Parameter, bool IsLiteral, object? Literal, string? LiteralJson,
    StepDefinition? Source, IReadOnlyList<(string Output, OutputSlot Slot)> Inputs, bool Assemble);

/// <summary>Everything needed to execute one step run, here or elsewhere.</summary>
internal sealed record StepInvocation(
    RunRecord Run, StepNode Node, string StepRunId, IReadOnlyList<StepArgument> Arguments, string OutputPrefix, StepLog Log, int Attempt = 1);

/// <summary>What an executed step produced. <see cref="Written"/> completes when every output is in the artifact store.</summary>
internal sealed record StepExecutionResult(IReadOnlyList<(string Name, ArtifactRecord Artifact, object? Value)> Outputs, Task? Written = null);

/// <summary>Executes step runs. The in-process launcher is the default; step operators take steps elsewhere.</summary>
internal interface IStepLauncher
{
    Task<StepExecutionResult> LaunchAsync(StepInvocation invocation, ArtifactStore artifacts, MaterializerRegistry materializers,
        CancellationToken cancellationToken);
}

/// <summary>
/// Runs the step method in this process, with its console output captured into the step log. Small outputs are
/// written to the artifact store behind the step: the steps after it take the values from memory meanwhile.
/// </summary>
internal sealed class InProcessStepLauncher : IStepLauncher
{
    public Task<StepExecutionResult> LaunchAsync(StepInvocation invocation, ArtifactStore artifacts, MaterializerRegistry materializers,
        CancellationToken cancellationToken)
    {
        var context = new StepContext(invocation.Run.Pipeline, invocation.Run.Id, invocation.Run.Name, invocation.Node.Name, invocation.StepRunId,
            new StepLogger(invocation.Log), Path.Combine(Path.GetTempPath(), "strata-steps", invocation.StepRunId), cancellationToken);
        return StepExecutor.ExecuteAsync(invocation.Node.Definition, invocation.Arguments, context, invocation.Log, invocation.OutputPrefix,
            artifacts, materializers, cancellationToken, writeBehind: true);
    }
}

/// <summary>Executes a step from its arguments: loads inputs, calls the method, saves outputs. The same code runs in-process and in a step
/// entrypoint.</summary>
internal static class StepExecutor
{
    public static async Task<StepExecutionResult> ExecuteAsync(StepDefinition step, IReadOnlyList<StepArgument> argumentList, StepContext context, StepLog log,
        string outputPrefix, ArtifactStore artifacts, MaterializerRegistry materializers, CancellationToken cancellationToken, bool writeBehind = false)
    {
        var arguments = new object?[argumentList.Count];
        for (var i = 0; i < arguments.Length; i++)
            arguments[i] = await ResolveAsync(argumentList[i], artifacts, materializers, cancellationToken).ConfigureAwait(false);

        var previous = StepContext.Current;
        object? returned;
        using (ConsoleCapture.Begin(log))
        {
            StepContext.Current = context;
            try
            {
                returned = await StepInvoker.InvokeAsync(step, arguments).ConfigureAwait(false);
            }
            finally
            {
                StepContext.Current = previous;
            }
        }
        return await SaveOutputsAsync(step, returned, outputPrefix, context.StepRunId, artifacts, materializers, writeBehind,
            cancellationToken).ConfigureAwait(false);
    }

    public static async Task<object?> ResolveAsync(StepArgument argument, ArtifactStore artifacts, MaterializerRegistry materializers,
        CancellationToken cancellationToken)
    {
        if (argument.IsLiteral) return argument.Literal;
        if (!argument.Assemble)
            return await argument.Inputs[0].Slot.GetAsync(artifacts, materializers, argument.Parameter.Type, cancellationToken).ConfigureAwait(false);
        var values = new Dictionary<string, object?>();
        foreach (var (output, slot) in argument.Inputs)
        {
            var type = argument.Source!.Outputs.First(o => o.Name == output).Type;
            values[output] = await slot.GetAsync(artifacts, materializers, type, cancellationToken).ConfigureAwait(false);
        }
        return argument.Source!.Assemble(values);
    }

    public static async Task<StepExecutionResult> SaveOutputsAsync(StepDefinition step, object? returned, string prefix, string stepRunId,
        ArtifactStore artifacts, MaterializerRegistry materializers, bool writeBehind, CancellationToken cancellationToken)
    {
        var outputs = new List<(string, ArtifactRecord, object?)>();
        var writes = new List<Task>();
        foreach (var (output, value) in step.Split(returned))
        {
            var path = ArtifactPath.Normalize($"{prefix}.{output.Name}");
            if (writeBehind)
            {
                var (record, written) = await ArtifactIO.SaveBehindAsync(artifacts, materializers, path, value, output.Type, stepRunId, output.Name,
                    cancellationToken).ConfigureAwait(false);
                outputs.Add((output.Name, record, value));
                writes.Add(written);
            }
            else
            {
                outputs.Add((output.Name,
                    await ArtifactIO.SaveAsync(artifacts, materializers, path, value, output.Type, stepRunId, output.Name, cancellationToken)
                        .ConfigureAwait(false),
                    value));
            }
        }
        return new StepExecutionResult(outputs, writes.Count switch { 0 => null, 1 => writes[0], _ => Task.WhenAll(writes) });
    }
}
