using System.Reflection;
using System.Text.Json;

namespace Strata.StepOperators;

/// <summary>Which method a step is, by assembly, type and name, so another process can find it.</summary>
internal sealed record StepMethodRef(string Assembly, string? AssemblyPath, string Type, string Method, int ParameterCount, string CodeVersion)
{
    public static StepMethodRef Of(StepDefinition step) => new(
        step.Method.Module.Assembly.GetName().Name!, NullIfEmpty(step.Method.Module.Assembly.Location),
        step.Method.DeclaringType!.FullName!, step.Method.Name, step.Parameters.Count, step.CodeVersion);

    private static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;

    /// <summary>Finds the method in this process, loading its assembly from <see cref="AssemblyPath"/> if needed.</summary>
    /// <exception cref="StrataConfigException">The assembly, type or method is not there (the job runs other code than the orchestrator).</exception>
    public MethodInfo Resolve()
    {
        var assembly = Loaded(Assembly)
            ?? (AssemblyPath is not null && File.Exists(AssemblyPath)
                ? PipelineDiscovery.LoadAssembly(AssemblyPath)
                : throw new StrataConfigException($"The step's assembly {Assembly} is not loaded and {AssemblyPath ?? "its path"} does not exist here; run " +
                    "the step entrypoint from the application that defines the pipeline."));
        var type = assembly.GetType(Type)
            ?? throw new StrataConfigException($"Type {Type} is not in {assembly.GetName().Name} here; the job runs a different build than the orchestrator.");
        foreach (var m in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static))
            if (m.Name == Method && m.GetParameters().Length == ParameterCount)
                return m;
        throw new StrataConfigException($"Step method {Type}.{Method} with {ParameterCount} parameter(s) is not in {assembly.GetName().Name} here; " +
            "the job runs a different build than the orchestrator.");
    }

    /// <summary>The loaded assembly of that simple name, told by its full name: asking each for its name would make an AssemblyName of each.</summary>
    private static System.Reflection.Assembly? Loaded(string name)
    {
        foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
            if (a.FullName is { } full && full.Length > name.Length && full[name.Length] == ',' && full.StartsWith(name, StringComparison.Ordinal))
                return a;
        return null;
    }
}

/// <summary>One input artifact of a manifest argument.</summary>
internal sealed record ManifestInput(string Output, ArtifactRecord Artifact);

/// <summary>A step parameter in a manifest: a literal (as JSON) or input artifacts.</summary>
internal sealed record ManifestArgument(string Name, bool IsLiteral, JsonElement? Literal, IReadOnlyList<ManifestInput> Inputs, bool Assemble,
    StepMethodRef? Source);

/// <summary>
/// What a step entrypoint needs to run one step: the step's identity and code version, its parameters, its input
/// artifacts, and where to write outputs, the result record and the log. Written to the artifact store; it holds
/// no credentials and no secret values.
/// </summary>
internal sealed record StepManifest(
    int Format, string Pipeline, string RunId, string RunName, string StepName, string StepRunId, int Attempt,
    StepMethodRef Step, IReadOnlyList<ManifestArgument> Arguments, string OutputPrefix, string ResultPath, string LogPath, string? Traceparent = null)
{
    public const int CurrentFormat = 1;

    public static string PathFor(string outputPrefix) => ArtifactPath.Combine(outputPrefix, "manifest.json");

    /// <summary>Where the step entrypoint writes the result record of the step run whose outputs go under <paramref name="outputPrefix"/>.</summary>
    public static string ResultPathFor(string outputPrefix) => ArtifactPath.Combine(outputPrefix, "result.json");

    public static StepManifest Create(StepInvocation invocation)
    {
        var arguments = invocation.Arguments.Select(a => a.IsLiteral
            ? new ManifestArgument(a.Parameter.Name, true, JsonDocument.Parse(a.LiteralJson ?? "null").RootElement.Clone(), [], false, null)
            : new ManifestArgument(a.Parameter.Name, false, null, a.Inputs.Select(i => new ManifestInput(i.Output, i.Slot.Artifact)).ToArray(),
                a.Assemble, a.Source is null ? null : StepMethodRef.Of(a.Source))).ToArray();
        return new StepManifest(CurrentFormat, invocation.Run.Pipeline, invocation.Run.Id, invocation.Run.Name, invocation.Node.Name, invocation.StepRunId,
            invocation.Attempt, StepMethodRef.Of(invocation.Node.Definition), arguments, invocation.OutputPrefix,
            ResultPathFor(invocation.OutputPrefix), ArtifactPath.Combine(invocation.OutputPrefix, "step.log"), StrataTelemetry.CurrentTraceparent());
    }

    public byte[] ToJson() => StepDocumentsJson.Write(this);

    public static StepManifest FromJson(byte[] json)
    {
        var manifest = StepDocumentsJson.ReadManifest(json);
        if (manifest.Format > CurrentFormat)
            throw new StrataConfigException($"The step manifest has format {manifest.Format}, newer than this Strata understands ({CurrentFormat}); run the " +
                "same Strata version in the job as in the orchestrator.");
        return manifest;
    }
}

/// <summary>What a step entrypoint reports back through the artifact store.</summary>
internal sealed record StepResultRecord(
    string Status, string? ErrorType, string? ErrorMessage, string? StackTrace, DateTimeOffset StartedAt, DateTimeOffset FinishedAt,
    IReadOnlyList<ArtifactRecord> Outputs, string LogPath, string Host, int ProcessId)
{
    public const string Completed = "completed";
    public const string Failed = "failed";

    public byte[] ToJson() => StepDocumentsJson.Write(this);

    public static StepResultRecord FromJson(byte[] json) => StepDocumentsJson.ReadResult(json);
}

/// <summary>How a job reaches the artifact store: the flavor and the non-secret config, passed in <c>STRATA_ARTIFACT_STORE</c>.</summary>
public sealed record ArtifactStoreLocator(string Flavor, IReadOnlyDictionary<string, string> Config)
{
    public const string EnvironmentVariable = "STRATA_ARTIFACT_STORE";

    public string ToJson() => StepDocumentsJson.Write(this);

    public static ArtifactStoreLocator FromJson(string json) => StepDocumentsJson.ReadLocator(json);

    public ArtifactStore Open(FlavorRegistry flavors, StrataHome home)
    {
        var flavor = (ArtifactStoreFlavor)flavors.Get(ComponentType.ArtifactStore, Flavor);
        return flavor.Create(flavor.Schema.Bind(Config), home);
    }
}

/// <summary>
/// What a standby step process is handed when its step comes (on its stdin): the manifest to run. Nothing else: a
/// standby was started with its step's whole environment, so no variable is set in a runtime that is already running.
/// </summary>
internal sealed record StepHandoff(string ManifestUri)
{
    public byte[] ToJson() => StepDocumentsJson.Write(this);

    public static StepHandoff FromJson(byte[] json) => StepDocumentsJson.ReadHandoff(json);
}
