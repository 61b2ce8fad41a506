using System.Diagnostics;

namespace Strata;

/// <summary>
/// The step entrypoint: runs one step from its manifest, in whatever process a step operator started.
/// An application gets it with one line at the top of its Main:
/// <code>if (await StrataEntrypoint.TryRunAsync(args) is { } exitCode) return exitCode;</code>
/// Then <c>dotnet App.dll strata-step --manifest URI</c> runs a step, and steps of this app sent to a step operator
/// run in the app itself. Without that line, operators use the <c>strata</c> command as the entrypoint.
/// </summary>
public static class StrataEntrypoint
{
    public const string Verb = "strata-step";

    /// <summary>
    /// <c>strata-step --standby</c>: a step process started ahead of its step. It gets ready, then reads its hand-off
    /// (a <see cref="StepHandoff"/>) from stdin and runs that step; stdin closing with nothing sent lets it go.
    /// </summary>
    internal const string StandbyOption = "--standby";

    /// <summary>Names a standby's own directory until a step is handed to it (the directory then becomes the step's).</summary>
    internal const string StandbyDirectoryPrefix = "standby-";

    /// <summary>Created in its directory by a standby once it is ready and waiting for its hand-off.</summary>
    internal const string StandbyReadyFile = "standby_ready";

    /// <summary>Exit code when the step itself failed (its result record says why).</summary>
    public const int StepFailed = 1;

    /// <summary>Exit code when the step could not be run at all (no manifest, no artifact store, wrong build).</summary>
    public const int CannotRun = 3;

    /// <summary>Names the environment variables that hold secrets, so the entrypoint hides their values in the step's log.</summary>
    public const string SecretVariablesVariable = "STRATA_SECRET_VARIABLES";

    /// <summary>
    /// Names a file of the step's secrets, a JSON object of variable names and values, that the entrypoint sets as environment
    /// variables before the step runs: for operators whose job environment others can read (a container's is in its inspect output).
    /// </summary>
    public const string SecretsFileVariable = "STRATA_SECRETS_FILE";

    /// <summary>Whether this process's entry assembly can run steps (it called <see cref="TryRunAsync"/>).</summary>
    public static bool HostedByApp { get; private set; }

    /// <summary>
    /// Runs a step when <paramref name="args"/> are <c>strata-step --manifest URI</c> and returns the exit code;
    /// otherwise returns null (and records that this application can run steps).
    /// </summary>
    public static async Task<int?> TryRunAsync(string[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        HostedByApp = true;
        if (args.Length == 0 || args[0] != Verb) return null;
        if (args is [_, StandbyOption]) return await StandbyAsync(cancellationToken).ConfigureAwait(false);
        if (args.Length != 3 || args[1] != "--manifest")
        {
            await Console.Error.WriteLineAsync($"usage: {Verb} --manifest URI").ConfigureAwait(false);
            return CannotRun;
        }
        return await RunAsync(args[2], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the step of a manifest: loads inputs, calls the method, writes outputs, the result record and the log.</summary>
    public static Task<int> RunAsync(string manifestUri, CancellationToken cancellationToken = default)
    {
        JitProfile.Start("step");
        return RunStepAsync(manifestUri, cancellationToken);
    }

    /// <summary>
    /// A standby: pays the start-up costs every step process pays (the runtime, the JIT profile, first uses of JSON,
    /// hashing and the console) while nothing waits, then waits for its hand-off on stdin and runs that step.
    /// </summary>
    private static async Task<int> StandbyAsync(CancellationToken cancellationToken)
    {
        JitProfile.Start("step");
        Prepare();
        var store = OpenStoreAhead();
        File.WriteAllBytes(StandbyReadyFile, []);
        byte[] handoff;
        // Read on this thread, blocking: the step then runs here too, as it does in a process started for it.
        using (var input = Console.OpenStandardInput())
        using (var buffer = new MemoryStream())
        {
            input.CopyTo(buffer);
            handoff = buffer.ToArray();
        }
        if (handoff.Length == 0)
        {
            // Let go before any step came: the directory is still the standby's own; nothing else will remove it.
            var own = Environment.CurrentDirectory;
            if (Path.GetFileName(own).StartsWith(StandbyDirectoryPrefix, StringComparison.Ordinal))
                try { Directory.Delete(own, recursive: true); } catch (IOException) { }
            return 0;
        }
        StepHandoff step;
        try
        {
            step = StepHandoff.FromJson(handoff);
        }
        catch (Exception e) when (e is StrataException or System.Text.Json.JsonException)
        {
            await Console.Error.WriteLineAsync($"strata-step: {e.Message}").ConfigureAwait(false);
            return CannotRun;
        }
        return await RunStepAsync(step.ManifestUri, cancellationToken, store).ConfigureAwait(false);
    }

    /// <summary>
    /// A standby opens the artifact store its step will use while it waits: the step's environment says which, and it does
    /// not change. Null when it cannot yet (secrets come from a file read at hand-off, or opening failed): the step then
    /// opens it, and reports what goes wrong.
    /// </summary>
    private static ArtifactStore? OpenStoreAhead()
    {
        if (Environment.GetEnvironmentVariable(SecretsFileVariable) is { Length: > 0 }) return null;
        try
        {
            return OpenStore();
        }
        catch (Exception e) when (e is StrataException or IOException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    /// <summary>The artifact store the step operator named in <see cref="ArtifactStoreLocator.EnvironmentVariable"/>.</summary>
    private static ArtifactStore OpenStore()
    {
        // The app's own setup first: it registers the integrations (e.g. the s3 store) the job needs to reach its artifacts.
        if (System.Reflection.Assembly.GetEntryAssembly() is { } app) StrataSetups.Apply(app, MaterializerRegistry.Default, FlavorRegistry.Default);
        var locator = Environment.GetEnvironmentVariable(ArtifactStoreLocator.EnvironmentVariable)
            ?? throw new StrataConfigException($"{ArtifactStoreLocator.EnvironmentVariable} is not set: the step operator must say how to reach the " +
                "artifact store.");
        return ArtifactStoreLocator.FromJson(locator).Open(FlavorRegistry.Default, StrataHome.Resolve());
    }

    /// <summary>
    /// First uses that cost a cold process milliseconds each and depend on nothing of a step: the console writers, the
    /// registries, JSON writing (a result record) and hashing (a code version).
    /// </summary>
    private static void Prepare()
    {
        ConsoleCapture.Install();
        _ = MaterializerRegistry.Default;
        _ = FlavorRegistry.Default;
        var now = TimeProvider.System.GetUtcNow();
        _ = new StepResultRecord(StepResultRecord.Completed, null, null, null, now, now, [], "", "", 0).ToJson();
        var prepare = typeof(StrataEntrypoint).GetMethod(nameof(Prepare), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        _ = CodeVersion.Of(prepare);
        // Finding a step's method by name (the first reflection over assemblies and types a step does).
        _ = new StepMethodRef(prepare.Module.Assembly.GetName().Name!, null, prepare.DeclaringType!.FullName!, prepare.Name, 0, "").Resolve();
    }

    /// <summary>The values of the variables <see cref="SecretVariablesVariable"/> names.</summary>
    private static List<string> SecretValues()
    {
        var values = new List<string>();
        foreach (var name in (Environment.GetEnvironmentVariable(SecretVariablesVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
            if (Environment.GetEnvironmentVariable(name) is { } value) values.Add(value);
        return values;
    }

    private static void LoadSecretsFile()
    {
        if (Environment.GetEnvironmentVariable(SecretsFileVariable) is not { Length: > 0 } path) return;
        using var secrets = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));
        foreach (var secret in secrets.RootElement.EnumerateObject())
            Environment.SetEnvironmentVariable(secret.Name, secret.Value.GetString());
    }

    private static async Task<int> RunStepAsync(string manifestUri, CancellationToken cancellationToken, ArtifactStore? openedAhead = null)
    {
        var started = TimeProvider.System.GetUtcNow();
        ArtifactStore store;
        StepManifest manifest;
        try
        {
            LoadSecretsFile();
            store = openedAhead ?? OpenStore();
            var bytes = await store.ReadFileAsync(store.PathOf(manifestUri), cancellationToken).ConfigureAwait(false)
                ?? throw new StrataConfigException($"No step manifest at {manifestUri}.");
            manifest = StepManifest.FromJson(bytes);
        }
        catch (Exception e) when (e is StrataException or IOException or System.Text.Json.JsonException)
        {
            await Console.Error.WriteLineAsync($"strata-step: {e.Message}").ConfigureAwait(false);
            return CannotRun;
        }

        var log = new StepLog(manifest.StepName, (_, line) => ConsoleCapture.RealOut.WriteLine(line)) { Masker = new SecretMasker(SecretValues()) };
        ConsoleCapture.Install();
        // The job's own span, a child of the orchestrator's span of this attempt when an exporter listens on both sides.
        using var activity = StrataTelemetry.Source.StartActivity($"step {manifest.StepName} (job)", ActivityKind.Internal,
            ActivityContext.TryParse(manifest.Traceparent, null, out var parent) ? parent : default);
        activity?.SetTag(StrataTelemetry.Tags.Pipeline, manifest.Pipeline).SetTag(StrataTelemetry.Tags.RunId, manifest.RunId)
            .SetTag(StrataTelemetry.Tags.Step, manifest.StepName).SetTag(StrataTelemetry.Tags.StepRunId, manifest.StepRunId)
            .SetTag(StrataTelemetry.Tags.Attempt, manifest.Attempt).SetTag("host.name", Environment.MachineName);
        StepResultRecord result;
        try
        {
            var method = manifest.Step.Resolve();
            var materializers = MaterializerRegistry.Default;
            StrataSetups.Apply(method.Module.Assembly, materializers, FlavorRegistry.Default);
            var step = StepDefinition.For(method, materializers);
            if (step.CodeVersion != manifest.Step.CodeVersion)
                log.WriteLine($"warning: this build's code version of {manifest.Step.Type}.{manifest.Step.Method} is {step.CodeVersion}, the orchestrator's " +
                    $"is {manifest.Step.CodeVersion}");
            var arguments = Arguments(step, manifest);
            var context = new StepContext(manifest.Pipeline, manifest.RunId, manifest.RunName, manifest.StepName, manifest.StepRunId,
                new StepLogger(log), Environment.CurrentDirectory, cancellationToken);
            var executed = await StepExecutor.ExecuteAsync(step, arguments, context, log, manifest.OutputPrefix, store, materializers,
                cancellationToken).ConfigureAwait(false);
            result = Result(StepResultRecord.Completed, null, started, executed.Artifacts(), manifest);
        }
        catch (Exception e)
        {
            log.WriteLine(e.ToString());
            StrataTelemetry.Fail(activity, e.Message, e);
            result = Result(StepResultRecord.Failed, e, started, [], manifest);
            result = result with { ErrorMessage = log.Masker!.Mask(result.ErrorMessage ?? ""), StackTrace = log.Masker.Mask(result.StackTrace ?? "") };
        }
        await store.WriteFileAsync(manifest.LogPath, System.Text.Encoding.UTF8.GetBytes(log.Text), CancellationToken.None).ConfigureAwait(false);
        await store.WriteFileAsync(manifest.ResultPath, result.ToJson(), CancellationToken.None).ConfigureAwait(false);
        await ConsoleCapture.RealOut.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        return result.Status == StepResultRecord.Completed ? 0 : StepFailed;
    }

    private static StepResultRecord Result(string status, Exception? e, DateTimeOffset started, IReadOnlyList<ArtifactRecord> outputs, StepManifest manifest) =>
        new(status, e?.GetType().FullName, e?.Message, e?.StackTrace, started, TimeProvider.System.GetUtcNow(), outputs, manifest.LogPath,
            Environment.MachineName, Environment.ProcessId);

    private static IReadOnlyList<StepArgument> Arguments(StepDefinition step, StepManifest manifest)
    {
        if (manifest.Arguments.Count != step.Parameters.Count)
            throw new StrataConfigException($"The manifest gives {manifest.Arguments.Count} argument(s) for {step.FullName}, which takes " +
                $"{step.Parameters.Count}.");
        // Loops rather than queries: each query's generic code is a first use in a step process that starts cold.
        var arguments = new StepArgument[step.Parameters.Count];
        for (var i = 0; i < arguments.Length; i++)
        {
            var (parameter, a) = (step.Parameters[i], manifest.Arguments[i]);
            if (a.IsLiteral)
            {
                var json = a.Literal?.GetRawText() ?? "null";
                var value = a.Literal is { } literal && Primitive(literal, parameter.Type) is { } primitive
                    ? primitive
                    : Deserialize(json, parameter.Type);
                arguments[i] = new StepArgument(parameter, true, value, json, null, [], false);
                continue;
            }
            var source = a.Source is null ? null : StepDefinition.For(a.Source.Resolve(), MaterializerRegistry.Default);
            var inputs = new (string, OutputSlot)[a.Inputs.Count];
            for (var j = 0; j < inputs.Length; j++) inputs[j] = (a.Inputs[j].Output, new OutputSlot(a.Inputs[j].Artifact, false, null));
            arguments[i] = new StepArgument(parameter, false, null, null, source, inputs, a.Assemble);
        }
        return arguments;
    }

    /// <summary>
    /// A literal that is not a plain number, string or bool, through the serializer. A method of its own: code that merely
    /// mentions <see cref="StrataJson.Options"/> may set up the serializer's options on entry, which costs milliseconds.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static object? Deserialize(string json, Type type) => System.Text.Json.JsonSerializer.Deserialize(json, type, StrataJson.Options);

    /// <summary>
    /// A number, string or bool literal read straight from its JSON, or null for anything else (which then goes through
    /// the serializer): in a step process that starts cold, setting up reflection-based deserialization costs more than the step.
    /// </summary>
    internal static object? Primitive(System.Text.Json.JsonElement literal, Type type) =>
        type.IsEnum ? null : (literal.ValueKind, Type.GetTypeCode(type)) switch
    {
        (System.Text.Json.JsonValueKind.Number, TypeCode.Int32) when literal.TryGetInt32(out var v) => v,
        (System.Text.Json.JsonValueKind.Number, TypeCode.Int64) when literal.TryGetInt64(out var v) => v,
        (System.Text.Json.JsonValueKind.Number, TypeCode.Double) when literal.TryGetDouble(out var v) => v,
        (System.Text.Json.JsonValueKind.String, TypeCode.String) => literal.GetString(),
        (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False, TypeCode.Boolean) => literal.GetBoolean(),
        _ => null,
    };

    /// <summary>The command that runs a step entrypoint for a manifest, as this process would start it.</summary>
    internal static IReadOnlyList<string>? DefaultCommand(string manifestUri)
    {
        var dotnet = Environment.ProcessPath;
        var entry = System.Reflection.Assembly.GetEntryAssembly();
        if (HostedByApp && entry is not null && dotnet is not null)
        {
            // An app host (./App) runs itself; `dotnet App.dll` needs the dll.
            return Path.GetFileNameWithoutExtension(dotnet) == "dotnet"
                ? [dotnet, entry.Location, Verb, "--manifest", manifestUri]
                : [dotnet, Verb, "--manifest", manifestUri];
        }
        var cli = Environment.GetEnvironmentVariable("STRATA_CLI") is { Length: > 0 } fromEnv ? fromEnv
            : Path.Combine(AppContext.BaseDirectory, "strata.dll");
        if (File.Exists(cli))
            return [DotnetPath(), cli, Verb, "--manifest", manifestUri];
        return null;
    }

    /// <summary>The standby form of a step command (<c>... strata-step --standby</c>), or null for a command of another shape.</summary>
    internal static IReadOnlyList<string>? StandbyCommand(IReadOnlyList<string> command, string manifestUri) =>
        command.Count >= 3 && command[^3] == Verb && command[^2] == "--manifest" && command[^1] == manifestUri
            ? [.. command.Take(command.Count - 2), StandbyOption]
            : null;

    private static string DotnetPath()
    {
        var current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet") return current;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        return "dotnet";
    }
}
