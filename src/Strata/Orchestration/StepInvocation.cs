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

/// <summary>What an executed step produced; every output is in the artifact store by the time it is returned.</summary>
internal sealed record StepExecutionResult(IReadOnlyList<(string Name, ArtifactRecord Artifact, object? Value)> Outputs)
{
    /// <summary>The outputs' records, in a loop: LINQ over these tuples has generic code every step process compiles afresh.</summary>
    public ArtifactRecord[] Artifacts()
    {
        var artifacts = new ArtifactRecord[Outputs.Count];
        for (var i = 0; i < artifacts.Length; i++) artifacts[i] = Outputs[i].Artifact;
        return artifacts;
    }
}

/// <summary>
/// An output of a step that could not be written to the artifact store. The message is the cause as it was raised
/// (<c>IOException: No space left on device ...</c>) and names the output, so the step fails with it.
/// </summary>
internal sealed class OutputWriteException(string output, string uri, Exception cause)
    : Exception($"{cause.GetType().Name}: {cause.Message} (writing output '{output}' to {uri})", cause);

/// <summary>Executes step runs. The in-process launcher is the default; step operators take steps elsewhere.</summary>
internal interface IStepLauncher
{
    Task<StepExecutionResult> LaunchAsync(StepInvocation invocation, ArtifactStore artifacts, MaterializerRegistry materializers,
        CancellationToken cancellationToken);
}

/// <summary>
/// Runs the step method in this process, with its console output captured into the step log. The step ends when its
/// outputs are in the artifact store; the steps after it then take the values from memory.
/// </summary>
internal sealed class InProcessStepLauncher : IStepLauncher
{
    /// <summary>Where a step in this process gets its working directory (<see cref="StepContext.WorkingDirectory"/>), one per step run.</summary>
    public static string WorkingRoot => Path.Combine(Path.GetTempPath(), "strata-steps");

    public Task<StepExecutionResult> LaunchAsync(StepInvocation invocation, ArtifactStore artifacts, MaterializerRegistry materializers,
        CancellationToken cancellationToken)
    {
        var context = new StepContext(invocation.Run.Pipeline, invocation.Run.Id, invocation.Run.Name, invocation.Node.Name, invocation.StepRunId,
            new StepLogger(invocation.Log), Path.Combine(WorkingRoot, invocation.StepRunId), cancellationToken);
        return StepExecutor.ExecuteAsync(invocation.Node.Definition, invocation.Arguments, context, invocation.Log, invocation.OutputPrefix,
            artifacts, materializers, cancellationToken);
    }
}

/// <summary>Executes a step from its arguments: loads inputs, calls the method, saves outputs. The same code runs in-process and in a step
/// entrypoint.</summary>
internal static class StepExecutor
{
    public static async Task<StepExecutionResult> ExecuteAsync(StepDefinition step, IReadOnlyList<StepArgument> argumentList, StepContext context, StepLog log,
        string outputPrefix, ArtifactStore artifacts, MaterializerRegistry materializers, CancellationToken cancellationToken)
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
        return await SaveOutputsAsync(step, returned, outputPrefix, context.StepRunId, artifacts, materializers, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Writes every output of a step. When one cannot be written, those already written are removed again (a failed
    /// step leaves no outputs behind) and an <see cref="OutputWriteException"/> names the output and the cause.
    /// </summary>
    public static async Task<StepExecutionResult> SaveOutputsAsync(StepDefinition step, object? returned, string prefix, string stepRunId,
        ArtifactStore artifacts, MaterializerRegistry materializers, CancellationToken cancellationToken)
    {
        var outputs = new List<(string Name, ArtifactRecord Artifact, object? Value)>();
        foreach (var (output, value) in step.Split(returned))
        {
            var path = ArtifactPath.Normalize($"{prefix}.{output.Name}");
            try
            {
                var record = await ArtifactIO.SaveAsync(artifacts, materializers, path, value, output.Type, stepRunId, output.Name, cancellationToken)
                    .ConfigureAwait(false);
                outputs.Add((output.Name, record, value));
            }
            catch (Exception e)
            {
                foreach (var written in outputs) await TryDeleteAsync(artifacts, written.Artifact).ConfigureAwait(false);
                if (e is OperationCanceledException) throw;
                throw new OutputWriteException(output.Name, artifacts.UriOf(path), e);
            }
        }
        return new StepExecutionResult(outputs);
    }

    private static async Task TryDeleteAsync(ArtifactStore artifacts, ArtifactRecord artifact)
    {
        try
        {
            await artifacts.DeleteAsync(artifacts.PathOf(artifact.Uri), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArtifactException)
        {
            // Left for `strata gc`, which removes artifacts that no record names once their run is over.
        }
    }
}
