using System.Diagnostics;
using System.Text.Json;
using Xunit;
using Steps = Strata.Testing.ConformanceSteps;

namespace Strata.Testing;

/// <summary>
/// The contract every step operator keeps, as cases that run real pipelines on a stack whose step operator is the one
/// under test: outputs, failures, exit codes, live and complete logs, cancel, the pending and step timeouts, secrets,
/// resources and cleanup. Derive a test class from it, say which operator to register and answer the hooks; every case
/// runs against your backend. A case your backend cannot support is reported skipped with the reason you give.
/// </summary>
/// <remarks>
/// Each case gets a Strata home of its own in a fresh directory (<see cref="CaseDirectory"/>), with a stack named
/// <see cref="StackName"/>: the local orchestrator, the artifact store of <see cref="ArtifactStore"/>, and the operator of
/// <see cref="Flavor"/> and <see cref="OperatorConfig"/> registered as <see cref="OperatorName"/>. The steps the cases run
/// are in this assembly; the job runs them through the step entrypoint (<see cref="Entrypoint"/>), which loads this
/// assembly from its path. Some steps wait for the test to have seen something: they go on when a file appears in
/// <see cref="CaseDirectory"/>, or after 20 seconds when the job cannot see that directory.
/// Run only these cases with <c>dotnet test --filter Category=Conformance</c>.
/// </remarks>
public abstract class StepOperatorConformance : IAsyncLifetime
{
    /// <summary>The component name the operator under test is registered as.</summary>
    public const string OperatorName = "conformance";

    /// <summary>The stack the cases run on.</summary>
    public const string StackName = "conformance";

    private const int BigArray = 300_000;
    private const int TenMegabytesOfLines = 104_858;
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private static readonly JsonSerializerOptions HandleJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private string? _caseDirectory;
    private StrataClient? _client;

    // ---- What the derived class says about its operator ----

    /// <summary>The flavor of the operator under test (e.g. <c>slurm</c>); <see cref="Flavors"/> must know it.</summary>
    protected abstract string Flavor { get; }

    /// <summary>The registry the client is opened with. <value>Default: <see cref="FlavorRegistry.Default"/>.</value></summary>
    protected virtual FlavorRegistry Flavors => FlavorRegistry.Default;

    /// <summary>The operator's component config, as <c>strata step-operator register</c> takes it. <value>Default: none.</value></summary>
    protected virtual IReadOnlyDictionary<string, string> OperatorConfig => new Dictionary<string, string>();

    /// <summary>The artifact store of the stack. <value>Default: null, the home's local store (enough for jobs on this machine).</value></summary>
    protected virtual ArtifactStoreUnderTest? ArtifactStore => null;

    /// <summary>
    /// How a job starts the step entrypoint: the operator's <c>entrypoint</c> setting (e.g. <c>dotnet</c>, <c>/app/strata.dll</c>),
    /// to which <c>strata-step --manifest URI</c> is appended. <value>Default: null, the <c>strata</c> command beside the tests
    /// (reference the Strata.Cli project or package from the test project), or the one <c>STRATA_CLI</c> names.</value>
    /// </summary>
    protected virtual IReadOnlyList<string>? Entrypoint => null;

    /// <summary>Called on each case's fresh client before anything is registered: create the secrets your configs reference.</summary>
    protected virtual Task PrepareAsync(StrataClient client) => Task.CompletedTask;

    /// <summary>How to keep a job waiting in the backend's queue, for the pending cases. <value>Default: no queue.</value></summary>
    protected virtual QueueSupport Queue => QueueSupport.None($"the '{Flavor}' operator names no way to keep a job waiting in a queue");

    /// <summary>Whether the backend maps <c>[Resources(Cpus = 2, Memory = "1GiB")]</c> to its job, or warns once per run naming a setting.</summary>
    protected abstract ResourceSupport Resources { get; }

    /// <summary>
    /// Why the backend keeps secret values from the job (SageMaker shows a job's environment to anyone who may describe it),
    /// or null when the step gets them in its environment. <value>Default: null.</value>
    /// </summary>
    protected virtual string? SecretsWithheld => null;

    /// <summary>
    /// What of the job is still alive: queue entries, processes, instances, one line each; empty when nothing is. It must
    /// see a running job (the cancel case checks that it does), so "nothing left running" means something.
    /// </summary>
    protected abstract Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job);

    /// <summary>
    /// What the backend was given for the job, as text: its command line, job script, job spec or request. Asked while the
    /// job runs (the secret case) and after it ended (when resources are mapped). It must hold the entrypoint's
    /// <c>strata-step</c>: the secret case checks that, so "no secret in it" means something.
    /// </summary>
    protected abstract Task<string> JobSpecAsync(StepJob job);

    /// <summary>
    /// Environment variables the <c>strata</c> command needs to use the operator, for the case that runs the pipeline in
    /// a process of its own: e.g. <c>STRATA_PLUGINS</c> naming the assembly of a flavor the command does not ship with.
    /// <value>Default: none.</value>
    /// </summary>
    protected virtual IReadOnlyDictionary<string, string> CommandEnvironment => new Dictionary<string, string>();

    /// <summary>
    /// The <c>strata</c> command (its <c>strata.dll</c>) the re-attach case runs the pipeline with. <value>Default: the one
    /// <c>STRATA_CLI</c> names, else <c>strata.dll</c> beside the tests.</value>
    /// </summary>
    protected virtual string StrataCommand =>
        Environment.GetEnvironmentVariable("STRATA_CLI") is { Length: > 0 } fromEnv ? fromEnv : Path.Combine(AppContext.BaseDirectory, "strata.dll");

    // ---- The harness ----

    /// <summary>This case's directory: the Strata home, and room for the operator's own files (a work directory, jobs).</summary>
    protected string CaseDirectory => _caseDirectory ?? throw new InvalidOperationException("The case has not started.");

    /// <summary>This case's client, on its own home.</summary>
    protected StrataClient Client => _client ?? throw new InvalidOperationException("The case has not started.");

    public virtual async Task InitializeAsync()
    {
        _caseDirectory = Path.Combine(Path.GetTempPath(), $"strata-conformance-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_caseDirectory);
        _client = await StrataClient.OpenAsync(new StrataHome(Path.Combine(_caseDirectory, "home")), Flavors);
        await PrepareAsync(_client);
        var config = new Dictionary<string, string>(OperatorConfig);
        if (Entrypoint is { Count: > 0 } entrypoint) config["entrypoint"] = string.Join(',', entrypoint);
        else if (Environment.GetEnvironmentVariable("STRATA_CLI") is not { Length: > 0 } && !File.Exists(Path.Combine(AppContext.BaseDirectory, "strata.dll")))
            throw new InvalidOperationException("No step entrypoint for the jobs: reference Strata.Cli from the test project (strata.dll beside the tests), " +
                "set STRATA_CLI, or override Entrypoint.");
        var store = StackManager.DefaultStack;
        if (ArtifactStore is { } artifactStore)
        {
            store = "conformance";
            await _client.Stacks.RegisterComponentAsync(ComponentType.ArtifactStore, store, artifactStore.Flavor, artifactStore.Config);
        }
        await _client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, OperatorName, Flavor, config);
        await _client.Stacks.RegisterStackAsync(StackName, StackManager.DefaultStack, store, [OperatorName]);
    }

    public virtual async Task DisposeAsync()
    {
        if (_client is not null) await _client.DisposeAsync();
        try { if (_caseDirectory is not null) Directory.Delete(_caseDirectory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    // ---- The cases ----

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_steps_typed_outputs_and_a_large_array_cross_back_to_the_client()
    {
        var result = await RunAsync(p => p.Step(Steps.Summarize, p.Step(Steps.Numbers, BigArray), "summed"), new ConformanceObserver());

        AssertSucceeded(result);
        Assert.Equal((long)BigArray * (BigArray + 1) / 2, await result.LoadAsync<long>("summarize", "sum"));
        Assert.Equal($"summed {Steps.Multibyte}", await result.LoadAsync<string>("summarize", "label"));
        Assert.Equal((BigArray + 1) / 2.0, await result.LoadAsync<double>("summarize", "mean"));
        var doubled = await result.LoadAsync<int[]>("summarize", "doubled");
        Assert.Equal(BigArray, doubled.Length);
        Assert.Equal(Enumerable.Range(1, BigArray).Select(n => n * 2), doubled);
        var stepRun = await StepRunAsync(result, "summarize");
        Assert.Equal(OperatorName, stepRun.StepOperator);
        Assert.NotNull(stepRun.Job);
        // Lineage: what the job made is the step run's output, and what it read is the upstream step's.
        Assert.All(result["summarize"].Outputs.Values, a => Assert.Equal(stepRun.Id, a.ProducerStepRunId));
        var input = Assert.Single(await Client.Store.GetStepInputsAsync(result.Run.Id), i => i.StepRunId == stepRun.Id);
        Assert.Equal(result["numbers"].Outputs["output"].Id, input.Artifact.Id);
        Assert.Contains($"summarizing {BigArray} numbers", await StepLogAsync(result, "summarize"));
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_failing_step_carries_its_exception_type_message_and_log_tail_into_the_runs_failure()
    {
        var result = await RunAsync(p => p.Step(Steps.Explode, 42), new ConformanceObserver());

        Assert.Equal(ExecutionStatus.Failed, result.Run.Status);
        var error = result["explode"].Error ?? "";
        Assert.Equal(ExecutionStatus.Failed, result["explode"].Status);
        Assert.Contains("InvalidDataException: conformance boom 42", error);
        Assert.Contains($"step operator '{OperatorName}'", error);
        Assert.Contains("preparing part 3 of 42", error);
        Assert.DoesNotContain("MethodBaseInvoker", error);
        Assert.Contains("InvalidDataException: conformance boom 42", (await StepRunAsync(result, "explode")).Error);
        Assert.Contains("System.IO.InvalidDataException: conformance boom 42", await StepLogAsync(result, "explode"));
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_job_killed_before_it_wrote_a_result_is_reported_with_its_exit_code_and_last_output()
    {
        var result = await RunAsync(p => p.Step(Steps.Killed, 7), new ConformanceObserver());

        Assert.Equal(ExecutionStatus.Failed, result["killed"].Status);
        var error = result["killed"].Error ?? "";
        Assert.Contains("137", error);
        Assert.Contains("without a result", error);
        Assert.Contains("about to be killed (7)", error);
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_line_the_step_prints_reaches_the_run_observer_while_the_step_runs_with_multibyte_text_intact()
    {
        var release = Path.Combine(CaseDirectory, "release-stream");
        var observer = new ConformanceObserver();
        var line = $"streaming {Steps.Multibyte}";

        var run = RunAsync(p => p.Step(Steps.Stream, release), observer);
        await WaitUntilAsync(() => observer.LinesOf("stream").Contains(line), run, $"the line '{line}' reaching the observer");
        // The step waits for this file (or 20 s): the line was seen while it ran, not read back after it ended.
        Assert.DoesNotContain("released", observer.LinesOf("stream"));
        Assert.False(run.IsCompleted, "the run ended before its step's line was seen");
        await File.WriteAllTextAsync(release, "");
        var result = await run.WaitAsync(Patience);

        AssertSucceeded(result);
        var log = await StepLogAsync(result, "stream");
        Assert.Contains(line, log.Split('\n'));
        Assert.Contains("released", log.Split('\n'));
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_10_MB_log_reaches_the_observer_and_the_stored_step_log_complete()
    {
        var observer = new ConformanceObserver();

        var result = await RunAsync(p => p.Step(Steps.Chatter, TenMegabytesOfLines), observer);

        AssertSucceeded(result);
        var stored = (await StepLogAsync(result, "chatter")).Split('\n').Where(l => l.StartsWith("chatter ", StringComparison.Ordinal)).ToArray();
        var seen = observer.LinesOf("chatter").Where(l => l.StartsWith("chatter ", StringComparison.Ordinal)).ToArray();
        foreach (var lines in new[] { stored, seen })
        {
            Assert.Equal(TenMegabytesOfLines, lines.Length);
            Assert.StartsWith("chatter 0000001 x", lines[0], StringComparison.Ordinal);
            Assert.StartsWith($"chatter {TenMegabytesOfLines:D7} x", lines[^1], StringComparison.Ordinal);
            Assert.All(lines, l => Assert.Equal(99, l.Length));
        }
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Cancelling_the_run_cancels_the_job_and_leaves_nothing_of_it_running()
    {
        using var cancel = new CancellationTokenSource();
        var observer = new ConformanceObserver();

        var run = RunAsync(p => p.Step(Steps.Hang, 1), observer, cancellationToken: cancel.Token);
        await WaitUntilAsync(() => observer.LinesOf("hang").Any(l => l.StartsWith("hanging", StringComparison.Ordinal)), run, "the step to start hanging");
        var job = await JobOfAsync(observer, "hang");
        var live = await LiveJobsAsync(job);
        Assert.True(live.Count > 0, $"LiveJobsAsync sees nothing of running job {job.JobId}: it must, or no case can tell that a job was stopped");
        await cancel.CancelAsync();
        var result = await run.WaitAsync(Patience);

        Assert.Equal(ExecutionStatus.Cancelled, result.Run.Status);
        Assert.Equal(ExecutionStatus.Cancelled, result["hang"].Status);
        await AssertNothingLeftAsync(job);
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_queued_job_shows_the_backends_reason_and_is_cancelled_at_the_pending_timeout()
    {
        if (Queue.Unsupported is { } why) ConformanceSkip.Because(why);
        var settings = new Dictionary<string, string>(Queue.Settings!) { ["pending_timeout"] = "30m" };
        var observer = new ConformanceObserver();

        // Half an hour in the queue, on a clock that runs it in a moment.
        await using var clock = new FastClock(TimeSpan.FromSeconds(5));
        var result = await RunAsync(p => p.Step(Steps.Sleep, 1), observer, new() { ["sleep"] = new StepOverride { Settings = settings } }, clock.Time);

        Assert.Equal(ExecutionStatus.Failed, result["sleep"].Status);
        var error = result["sleep"].Error ?? "";
        Assert.Contains("pending timeout", error);
        Assert.Contains(Queue.Reason!, error);
        Assert.Contains("was cancelled", error);
        // The reason was shown while the job waited, not only at the end.
        Assert.Contains(observer.Changes,
            c => c is { Step: "sleep", Status: ExecutionStatus.Pending } && c.Detail?.Contains(Queue.Reason!, StringComparison.Ordinal) == true);
        await AssertNothingLeftAsync(await JobOfAsync(observer, "sleep"));
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_step_over_its_timeout_fails_as_timed_out_and_its_job_is_cancelled()
    {
        var observer = new ConformanceObserver();

        // Ten minutes of running, on a clock that runs them in a moment.
        await using var clock = new FastClock(TimeSpan.FromSeconds(5));
        var result = await RunAsync(p => p.Step(Steps.Sleep, 120), observer, new() { ["sleep"] = new StepOverride { Timeout = "10m" } }, clock.Time);

        Assert.Equal(ExecutionStatus.Failed, result["sleep"].Status);
        var error = result["sleep"].Error ?? "";
        Assert.Contains("ran longer than its timeout 00:10:00", error);
        Assert.Contains("was cancelled", error);
        await AssertNothingLeftAsync(await JobOfAsync(observer, "sleep"));
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_secret_is_in_neither_the_jobs_spec_nor_its_stored_handle_nor_any_log()
    {
        var token = await CreateSecretAsync();
        var release = Path.Combine(CaseDirectory, "release-secret");
        var observer = new ConformanceObserver();

        var run = RunAsync(p => p.Step(Steps.UseSecret, Steps.Hash(token), release), observer);
        await WaitUntilAsync(() => observer.LinesOf("use_secret").Any(l => l.StartsWith("token is", StringComparison.Ordinal)), run,
            "the step to use its secret");
        var job = await JobOfAsync(observer, "use_secret");
        var spec = await JobSpecAsync(job);
        Assert.True(spec.Contains(StrataEntrypoint.Verb, StringComparison.Ordinal),
            $"JobSpecAsync does not show the job's command ({StrataEntrypoint.Verb}): {spec}");
        Assert.DoesNotContain(token, spec, StringComparison.Ordinal);
        await File.WriteAllTextAsync(release, "");
        var result = await run.WaitAsync(Patience);

        AssertSucceeded(result);
        Assert.DoesNotContain(token, (await StepRunAsync(result, "use_secret")).Job, StringComparison.Ordinal);
        Assert.DoesNotContain(token, await StepLogAsync(result, "use_secret"), StringComparison.Ordinal);
        Assert.DoesNotContain(observer.Lines, l => l.Line.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(observer.Changes, c => c.Detail?.Contains(token, StringComparison.Ordinal) == true);
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task The_step_sees_its_secret_in_its_environment_and_its_log_and_error_show_it_masked()
    {
        if (SecretsWithheld is { } why) ConformanceSkip.Because(why);
        var token = await CreateSecretAsync();
        var release = Path.Combine(CaseDirectory, "release-secret");
        await File.WriteAllTextAsync(release, "");

        var result = await RunAsync(p =>
        {
            p.Step(Steps.UseSecret, Steps.Hash(token), release);
            p.Step(Steps.LeakSecret, 7);
        }, new ConformanceObserver());

        Assert.Equal(ExecutionStatus.Completed, result["use_secret"].Status);
        Assert.True(await result.LoadAsync<bool>("use_secret"), "the step did not find its secret's value in its environment");
        var log = await StepLogAsync(result, "use_secret");
        Assert.Contains("token is ****", log);
        Assert.Contains("calling the API with ****", log);
        Assert.Contains("the server refused **** (7)", result["leak_secret"].Error);
        Assert.DoesNotContain(token, result["leak_secret"].Error, StringComparison.Ordinal);
        Assert.DoesNotContain(token, await StepLogAsync(result, "leak_secret"), StringComparison.Ordinal);
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_resource_request_is_mapped_to_the_job_or_warned_about_once_per_run_naming_the_setting_to_use()
    {
        var observer = new ConformanceObserver();

        var result = await RunAsync(p =>
        {
            p.Step(Steps.Demanding, 1);
            p.Step(Steps.Demanding, 2).Named("demanding_again");
        }, observer);

        AssertSucceeded(result);
        if (Resources.Setting is { } setting)
        {
            var warning = Assert.Single(observer.Warnings);
            Assert.Contains($"step operator '{OperatorName}' (flavor {Flavor}) ignores", warning);
            Assert.Contains("cpus", warning);
            Assert.Contains(setting, warning);
            return;
        }
        Assert.Empty(observer.Warnings);
        var spec = await JobSpecAsync(await JobOfAsync(observer, "demanding"));
        foreach (var expected in Resources.InJobSpec) Assert.Contains(expected, spec);
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task Cleaning_up_twice_and_cancelling_a_finished_job_are_harmless()
    {
        var result = await RunAsync(p => p.Step(Steps.Summarize, new[] { 1, 2, 3 }, "small"), new ConformanceObserver());
        AssertSucceeded(result);
        var job = await JobOfAsync(result.Run.Id, "summarize");

        // As after a restart: another operator, the stored handle; the orchestrator has cleaned up once already.
        var op = await Client.Stacks.CreateStepOperatorAsync(OperatorName, new StepOperatorContext(Client.Home, await Client.GetArtifactStoreAsync(StackName)));
        try
        {
            await op.CleanupAsync(job);
            await op.CleanupAsync(job);
            await op.CancelAsync(job);
            await op.CancelAsync(job);
            Assert.True((await op.GetStatusAsync(job)).IsFinished, "a finished job no longer reads as finished after a cancel");
            await op.CleanupAsync(job);
        }
        finally
        {
            (op as IDisposable)?.Dispose();
        }
        Assert.Empty(await LiveJobsAsync(job));
        Assert.Equal(6, await result.LoadAsync<long>("summarize", "sum"));
    }

    [ConformanceFact]
    [Trait(ConformanceTraits.Category, ConformanceTraits.Conformance)]
    public async Task A_job_outlives_its_killed_client_and_a_resume_reattaches_to_it_without_submitting_another()
    {
        var cli = StrataCommand;
        if (!File.Exists(cli))
            ConformanceSkip.Because($"this case runs the pipeline with the strata command, and there is none at {cli} (reference Strata.Cli or set " +
                "STRATA_CLI)");
        var runName = $"reattach-{Guid.NewGuid():N}";
        var files = Steps.HeldFiles(runName);
        try
        {
            // The client: `strata pipeline run` in a process of its own, killed (SIGKILL) once its step's job runs.
            StepJob job;
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { cli, "pipeline", "run", Steps.ReattachPipeline, "--assembly", typeof(Steps).Assembly.Location, "--stack", StackName,
                "--run-name", runName })
                start.ArgumentList.Add(arg);
            start.Environment["STRATA_HOME"] = Client.Home.Path;
            start.Environment.Remove("STRATA_STORE_URL");
            foreach (var (name, value) in CommandEnvironment) start.Environment[name] = value;
            using (var client = Process.Start(start)!)
            {
                var output = client.StandardOutput.ReadToEndAsync();
                var errors = client.StandardError.ReadToEndAsync();
                try
                {
                    await WaitUntilAsync(() => File.Exists(files.Started) || client.HasExited, "the held step to start");
                    if (client.HasExited) Assert.Fail($"strata pipeline run ended before its step started: {await output}{await errors}");
                    var run = await Client.Store.FindRunAsync(runName) ?? throw new InvalidOperationException($"no run {runName}");
                    job = await JobOfAsync(run.Id, "held");
                }
                finally
                {
                    client.Kill(entireProcessTree: false); // the client only: its job is the backend's
                    await client.WaitForExitAsync();
                }
            }
            Assert.True((await LiveJobsAsync(job)).Count > 0, $"job {job.JobId} did not outlive its client");

            var observer = new ConformanceObserver();
            var resume = Client.ResumeAsync(runName, new RunOptions { Observer = observer }).WaitAsync(Patience, CancellationToken.None);
            await WaitUntilAsync(() => observer.Changes.Any(c => c.Detail?.Contains("re-attached", StringComparison.Ordinal) == true), resume,
                "the resume to re-attach to the job");
            await File.WriteAllTextAsync(files.Release, "");
            var result = await resume;

            AssertSucceeded(result);
            Assert.Equal(42, await result.LoadAsync<int>("held"));
            // One execution, one step run, one job: the one the killed client submitted.
            Assert.Single(await File.ReadAllLinesAsync(files.Started));
            var held = (await Client.Store.ListStepRunsAsync(result.Run.Id)).Where(s => s.Name == "held").ToArray();
            var only = Assert.Single(held);
            Assert.Equal(job.StepRunId, only.Id);
            Assert.Equal(job.JobId, JsonSerializer.Deserialize<StepJob>(only.Job!, HandleJson)!.JobId);
            var log = await StepLogAsync(result, "held");
            Assert.Contains("held 21", log, StringComparison.Ordinal);
            Assert.Contains("released", log, StringComparison.Ordinal);
            await AssertNothingLeftAsync(job);
        }
        finally
        {
            try { Directory.Delete(Path.GetDirectoryName(files.Started)!, recursive: true); }
            catch (DirectoryNotFoundException) { }
        }
    }

    // ---- Helpers ----

    private Task<RunResult> RunAsync(Action<PipelineBuilder> pipeline, ConformanceObserver observer, Dictionary<string, StepOverride>? steps = null,
        TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        Client.RunAsync(pipeline, new RunOptions { Stack = StackName, NoCache = true, Observer = observer, Steps = steps ?? [], TimeProvider = time },
            cancellationToken)
            .WaitAsync(Patience, CancellationToken.None);

    private async Task<string> CreateSecretAsync()
    {
        var token = $"sv{Guid.NewGuid():N}{Guid.NewGuid():N}";
        await Client.Secrets.CreateAsync(Steps.SecretName, new Dictionary<string, string> { [Steps.SecretVariable.ToLowerInvariant()] = token });
        return token;
    }

    private static void AssertSucceeded(RunResult result) =>
        Assert.True(result.Succeeded, string.Join(Environment.NewLine, result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));

    private async Task<StepRunRecord> StepRunAsync(RunResult result, string step) =>
        (await Client.Store.ListStepRunsAsync(result.Run.Id)).Single(s => s.Id == result[step].StepRunId);

    private async Task<string> StepLogAsync(RunResult result, string step) =>
        await Client.Store.GetStepLogAsync(result[step].StepRunId!) ?? "";

    private async Task<StepJob> JobOfAsync(ConformanceObserver observer, string step) =>
        await JobOfAsync((await observer.Started.WaitAsync(Patience)).Id, step);

    /// <summary>The job handle the run stored for a step, once it has one.</summary>
    private async Task<StepJob> JobOfAsync(string runId, string step)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var stored = (await Client.Store.ListStepRunsAsync(runId)).Where(s => s.Name == step && s.Job is not null).MaxBy(s => s.Attempt);
            if (stored is not null) return JsonSerializer.Deserialize<StepJob>(stored.Job!, HandleJson)!;
            if (clock.Elapsed > Patience) throw new TimeoutException($"step '{step}' of run {runId} has no job handle");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for <paramref name="condition"/>; fails when the run ends first or it takes too long.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Patience) Assert.Fail($"Gave up waiting for {what}.");
            await Task.Delay(50);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Task<RunResult> run, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (run.IsCompleted)
            {
                var result = await run;
                Assert.Fail($"The run ended before {what}: {string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}"))}");
            }
            if (clock.Elapsed > Patience) Assert.Fail($"Gave up waiting for {what}.");
            await Task.Delay(50);
        }
    }

    /// <summary>Nothing of the job is alive, allowing its last processes a few seconds to go once the run has returned.</summary>
    private async Task AssertNothingLeftAsync(StepJob job)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<string> live;
        while ((live = await LiveJobsAsync(job)).Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(100);
        Assert.True(live.Count == 0, $"job {job.JobId} still runs: {string.Join("; ", live)}");
    }
}
