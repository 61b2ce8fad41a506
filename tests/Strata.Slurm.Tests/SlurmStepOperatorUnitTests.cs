using System.Diagnostics;
using Strata.Tests.Support;

namespace Strata.Slurm.Tests;

/// <summary>The slurm step operator's parts that need no cluster: the flavor, config checks, the job script and files, the status mapping.</summary>
public sealed class SlurmStepOperatorUnitTests
{
    private static StepOperatorFlavor Flavor => (StepOperatorFlavor)new FlavorRegistry().AddSlurm().Get(ComponentType.StepOperator, "slurm");

    private static StepLaunch Launch(IReadOnlyList<string> command, SlurmStepOperatorSettings? settings = null,
        IReadOnlyDictionary<string, string>? environment = null, IReadOnlyDictionary<string, string>? secrets = null) => new()
    {
        Pipeline = "training",
        RunId = "run-1",
        RunName = "training-1",
        StepName = "train",
        StepRunId = Guid.CreateVersion7().ToString(),
        Command = command,
        Environment = environment ?? new Dictionary<string, string>(),
        Secrets = secrets ?? new Dictionary<string, string>(),
        Settings = settings ?? new SlurmStepOperatorSettings(),
        ManifestUri = "/shared/manifest.json",
    };

    [Fact]
    public void The_flavor_is_added_by_AddSlurm_needs_a_remote_artifact_store_and_maps_every_resource()
    {
        var flavor = Flavor;
        Assert.Equal("slurm", flavor.Name);
        Assert.Equal("slurm", flavor.Integration);
        Assert.Equal(StackRequirements.RemoteArtifactStore, flavor.Requirements);
        Assert.Empty(flavor.UnsupportedResources(new StepResources(Cpus: 4, Gpus: 2, MemoryBytes: 1L << 34, GpuType: "a100"), new SlurmStepOperatorSettings()));
        var fields = flavor.Schema.Fields.ToDictionary(f => f.Name);
        foreach (var name in new[] { "transport", "work_dir", "slurm_conf", "rest_url", "rest_socket", "user_name", "token", "max_jobs", "partition", "account",
                     "qos", "time_limit", "nodes", "ntasks", "extra_sbatch_options", "setup", "container_command", "hold", "timeout", "pending_timeout" })
            Assert.True(fields.ContainsKey(name), $"no config field {name}");
        Assert.True(fields["work_dir"].Required);
        Assert.True(fields["token"].Secret);
        Assert.Equal("cli|rest", fields["transport"].TypeName);
        Assert.DoesNotContain(flavor.SettingsSchema.Fields, f => f.Name is "token" or "work_dir" or "transport");
    }

    [Theory]
    [InlineData("work_dir=relative/path", "must be an absolute path")]
    [InlineData("work_dir=/shared/100%", "'%'")]
    [InlineData("transport=rest", "exactly one of --rest_url")]
    [InlineData("transport=rest; rest_url=http://head:6820", "needs a JWT")]
    [InlineData("transport=rest; rest_url=ftp://head; token=x", "http:// or https://")]
    [InlineData("token=abc", "are for transport=rest")]
    [InlineData("extra_sbatch_options=--time=5", "sets --time")]
    [InlineData("extra_sbatch_options=--comment=a;b", "metacharacter")]
    [InlineData("container_command=apptainer exec img.sif", "{command} exactly once")]
    [InlineData("max_jobs=-1", "max_jobs")]
    public void A_config_that_cannot_work_is_refused_when_the_operator_is_built(string pairs, string message)
    {
        var values = new Dictionary<string, string> { ["work_dir"] = "/shared/strata" };
        foreach (var pair in pairs.Split("; "))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            values[pair[..eq]] = pair[(eq + 1)..];
        }
        var flavor = Flavor;
        using var dir = new TempDirectory("strata-slurm-unit");
        var e = Assert.Throws<SlurmException>(() => flavor.Create(flavor.Schema.Bind(values),
            new StepOperatorContext(new StrataHome(dir.Path), new LocalArtifactStore(dir.Combine("a")) { Shared = true })));
        Assert.Contains(message, e.Message);
        Assert.IsAssignableFrom<StrataException>(e);
    }

    [Fact]
    public async Task A_stack_whose_artifact_store_is_not_shared_is_refused_before_anything_runs_naming_the_fix()
    {
        using var dir = new TempDirectory("strata-slurm-unit");
        await using var client = await StrataClient.OpenAsync(new StrataHome(dir.Combine("home")), new FlavorRegistry().AddSlurm());
        await client.Stacks.RegisterComponentAsync(ComponentType.StepOperator, SlurmSteps.Operator, "slurm",
            new Dictionary<string, string> { ["work_dir"] = dir.Combine("work") });
        await client.Stacks.RegisterStackAsync("hpc", StackManager.DefaultStack, StackManager.DefaultStack, [SlurmSteps.Operator]);

        var e = await Assert.ThrowsAsync<StackValidationException>(() =>
            client.RunAsync(p => p.Step(SlurmSteps.Explode, 1), new RunOptions { Stack = "hpc", Observer = RunObservers.None }));
        Assert.Contains("--shared=true", e.Message);
        Assert.Empty(await client.Store.ListRunsAsync());
    }

    [Fact]
    public void Resources_settings_and_the_step_timeout_map_to_the_job()
    {
        var settings = new SlurmStepOperatorSettings
        {
            Partition = "gpu", Account = "ml", Qos = "high", TimeLimit = TimeSpan.FromHours(2), Nodes = 1, Ntasks = 1, Hold = true,
            ExtraSbatchOptions = ["--constraint=a100", "--exclusive"],
        };
        var resources = new StepResources(Cpus: 1.5, Gpus: 2, MemoryBytes: 16L * 1024 * 1024 * 1024, GpuType: "a100");

        var spec = SlurmStepJob.Spec("strata-x", "true", settings, resources, TimeSpan.FromSeconds(90), "/shared/w/1");

        Assert.Equal(2, spec.CpusPerTask);
        Assert.Equal(16 * 1024, spec.MemoryMiB);
        Assert.Equal("gpu:a100:2", spec.Gres);
        Assert.Equal(2, spec.TimeLimitMinutes); // the step timeout wins over time_limit, rounded up
        Assert.Equal(("gpu", "ml", "high", 1, 1, true), (spec.Partition, spec.Account, spec.Qos, spec.Nodes, spec.Tasks, spec.Hold));
        Assert.Equal(["--constraint=a100", "--exclusive"], spec.ExtraOptions);
        Assert.Equal("/shared/w/1", spec.WorkingDirectory);
        Assert.Equal("/shared/w/1/stdout.log", spec.StandardOutput);
        Assert.Equal("/shared/w/1/stderr.log", spec.StandardError);
        Assert.Empty(spec.Environment); // the environment travels in the job's private file
        spec.Validate();

        Assert.Equal(120, SlurmStepJob.Spec("n", "true", settings, StepResources.None, null, "/w").TimeLimitMinutes);
        Assert.Equal("gpu:1", SlurmStepJob.Gres(new StepResources(Gpus: 1)));
        Assert.Equal("gpu:v100:1", SlurmStepJob.Gres(new StepResources(GpuType: "v100")));
        Assert.Null(SlurmStepJob.Gres(new StepResources(Cpus: 2)));
        var args = SlurmCliTransport.SbatchArguments(SlurmStepJob.Spec("n", "true", settings, resources, null, "/w"));
        Assert.Contains("--gres=gpu:a100:2", args);
        Assert.Contains("--mem=16384M", args);
        Assert.Contains("--cpus-per-task=2", args);
        Assert.Contains("--time=120", args);
    }

    [Theory]
    [InlineData("--time=10", "sets --time")]
    [InlineData("--comment=x;rm", "metacharacter")]
    [InlineData("--comment=a b", "contains a space")]
    [InlineData("-p", "long option")]
    public void Bad_extra_sbatch_options_in_a_steps_settings_are_named(string option, string message)
    {
        var problems = SlurmStepJob.Problems(new SlurmStepOperatorSettings { ExtraSbatchOptions = [option] }).ToList();
        Assert.Contains(problems, p => p.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Setup_lines_are_one_line_each_and_the_container_command_needs_its_placeholder_once()
    {
        Assert.Contains(SlurmStepJob.Problems(new SlurmStepOperatorSettings { Setup = ["module load a\nrm -rf /"] }), p => p.Contains("newline", StringComparison.Ordinal));
        Assert.Contains(SlurmStepJob.Problems(new SlurmStepOperatorSettings { ContainerCommand = "x {command} {command}" }), p => p.Contains("2 times", StringComparison.Ordinal));
        Assert.Empty(SlurmStepJob.Problems(new SlurmStepOperatorSettings { Setup = ["module load dotnet/10", "export X=1"], ContainerCommand = "apptainer exec i.sif {command}" }));
    }

    /// <summary>Runs a generated script with bash on this machine, in a step directory of its own, as a Slurm node would.</summary>
    private static (int Code, string Stdout, string StepDir) RunScript(StepLaunch launch, SlurmStepOperatorSettings settings, TempDirectory dir)
    {
        var stepDir = SlurmStepJob.DirectoryFor(dir.Path, launch.StepRunId);
        Directory.CreateDirectory(stepDir);
        File.WriteAllText(Path.Combine(stepDir, "env.sh"), SlurmStepJob.EnvironmentFileText(launch));
        var script = SlurmStepJob.Script(launch, settings, stepDir);
        File.WriteAllText(Path.Combine(stepDir, "job.sh"), script);
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        psi.ArgumentList.Add(Path.Combine(stepDir, "job.sh"));
        psi.Environment.Remove("API_TOKEN");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stepDir);
    }

    [Fact]
    public void The_script_runs_the_command_word_for_word_with_the_environment_file_and_records_the_exit_code()
    {
        using var dir = new TempDirectory("strata-slurm-script");
        string[] awkward = ["a b", "it's", "$HOME", "*", "\"quoted\"", "", "semi;colon", "--x=1"];
        var launch = Launch(["printf", "[%s]", .. awkward],
            environment: new Dictionary<string, string> { ["STRATA_ARTIFACT_STORE"] = "{\"flavor\":\"local\"}" },
            secrets: new Dictionary<string, string> { ["API_TOKEN"] = "s3cr3t 'with' $quotes\nand a newline" });

        var (code, stdout, stepDir) = RunScript(launch, new SlurmStepOperatorSettings(), dir);

        Assert.Equal(0, code);
        Assert.Equal(string.Concat(awkward.Select(a => $"[{a}]")), stdout);
        Assert.Equal("0", File.ReadAllText(Path.Combine(stepDir, "exit_code")).Trim());
        Assert.DoesNotContain("s3cr3t", File.ReadAllText(Path.Combine(stepDir, "job.sh")));

        var echo = Launch(["/bin/sh", "-c", "printf '%s|%s' \"$API_TOKEN\" \"$STRATA_ARTIFACT_STORE\"; exit 4"], environment: launch.Environment, secrets: launch.Secrets);
        var (code2, stdout2, stepDir2) = RunScript(echo, new SlurmStepOperatorSettings(), dir);
        Assert.Equal(4, code2);
        Assert.Equal("s3cr3t 'with' $quotes\nand a newline|{\"flavor\":\"local\"}", stdout2);
        Assert.Equal("4", File.ReadAllText(Path.Combine(stepDir2, "exit_code")).Trim());
    }

    [Fact]
    public void Setup_lines_run_first_and_the_container_command_wraps_the_quoted_command()
    {
        using var dir = new TempDirectory("strata-slurm-script");
        var settings = new SlurmStepOperatorSettings
        {
            Setup = ["export GREETING=hello", "echo setup ran in $(basename \"$PWD\")"],
            ContainerCommand = "env WRAPPED=yes {command}",
        };
        var launch = Launch(["/bin/sh", "-c", "echo \"$GREETING from $WRAPPED wrapper\""], settings);

        var (code, stdout, stepDir) = RunScript(launch, settings, dir);

        Assert.Equal(0, code);
        Assert.Equal($"setup ran in {Path.GetFileName(stepDir)}\nhello from yes wrapper\n", stdout);
    }

    [Fact]
    public void A_script_whose_environment_file_is_missing_says_so_and_exits_3()
    {
        using var dir = new TempDirectory("strata-slurm-script");
        var launch = Launch(["true"]);
        var stepDir = SlurmStepJob.DirectoryFor(dir.Path, launch.StepRunId);
        Directory.CreateDirectory(stepDir);
        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(SlurmStepJob.Script(launch, new SlurmStepOperatorSettings(), stepDir));
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(SlurmStepJob.CannotStart, process.ExitCode);
        Assert.Contains("is the work directory shared with this node?", stderr);
        Assert.False(File.Exists(Path.Combine(stepDir, "exit_code")));
    }

    [Fact]
    public void Environment_names_that_are_not_shell_names_are_refused()
    {
        var e = Assert.Throws<SlurmException>(() => SlurmStepJob.EnvironmentFileText(Launch(["true"], secrets: new Dictionary<string, string> { ["BAD-NAME"] = "x" })));
        Assert.Contains("BAD-NAME", e.Message);
    }

    [Theory]
    [InlineData(0, false, "Succeeded")]
    [InlineData(1, false, "Failed")]
    [InlineData(137, false, "Failed")]
    public void The_exit_code_the_script_recorded_wins(int code, bool cancelled, string state)
    {
        var running = SlurmJobState.Create("12", "n", "RUNNING", null, default);
        var status = SlurmStepOperator.StatusOf("12", code, cancelled, true, running);
        Assert.Equal(Enum.Parse<StepJobState>(state), status.State);
        Assert.Equal(code, status.ExitCode);
        if (status.State == StepJobState.Failed) Assert.Contains($"exited with code {code}", status.Reason);
    }

    [Theory]
    [InlineData("RUNNING", 143, "Running")]
    [InlineData("COMPLETING", null, "Running")]
    [InlineData("CANCELLED", 143, "Cancelled")]
    [InlineData("CANCELLED", null, "Cancelled")]
    [InlineData("COMPLETED", 0, "Cancelled")]
    public void A_job_Strata_cancelled_has_stopped_only_when_Slurm_says_it_ended(string slurmState, int? exitCode, string state)
    {
        var job = SlurmJobState.Create("12", "n", slurmState, null, new SlurmExitStatus(0, slurmState == "CANCELLED" ? 15 : 0));
        var status = SlurmStepOperator.StatusOf("12", exitCode, cancelled: true, knownToSlurm: true, job);
        Assert.Equal(Enum.Parse<StepJobState>(state), status.State);
        if (status.State == StepJobState.Running) Assert.StartsWith("cancelling", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_job_Slurm_forgot_without_an_exit_code_vanished_unless_Strata_cancelled_it()
    {
        var vanished = SlurmStepOperator.StatusOf("12", null, false, false, null);
        Assert.Equal(StepJobState.Failed, vanished.State);
        Assert.Contains("vanished", vanished.Reason);
        Assert.Contains("MinJobAge", vanished.Reason);
        Assert.Equal(StepJobState.Cancelled, SlurmStepOperator.StatusOf("12", null, true, false, null).State);
    }

    [Theory]
    [InlineData("PENDING", "Resources", 0, 0, "Queued", "Resources: waiting for nodes")]
    [InlineData("PENDING", "Priority", 0, 0, "Queued", "Priority: other jobs go first")]
    [InlineData("PENDING", "PartitionTimeLimit", 0, 0, "Queued", "PartitionTimeLimit: its time limit is above the partition's maximum")]
    [InlineData("PENDING", "ReqNodeNotAvail", 0, 0, "Queued", "ReqNodeNotAvail: a node it needs is down")]
    [InlineData("PENDING", "JobHeldUser", 0, 0, "Queued", "JobHeldUser: held: release it with `scontrol release 12`")]
    [InlineData("PENDING", "SomethingNew", 0, 0, "Queued", "SomethingNew")]
    [InlineData("PENDING", null, 0, 0, "Queued", "PENDING: not scheduled yet")]
    [InlineData("RUNNING", null, 0, 0, "Running", null)]
    [InlineData("COMPLETING", null, 0, 0, "Running", "completing")]
    [InlineData("COMPLETED", null, 0, 0, "Succeeded", null)]
    [InlineData("FAILED", "NonZeroExitCode", 2, 0, "Failed", "Slurm job 12 failed (reason: NonZeroExitCode), exit code 2")]
    [InlineData("TIMEOUT", "TimeLimit", 0, 15, "Failed", "reached its time limit")]
    [InlineData("OUT_OF_MEMORY", "OutOfMemory", 0, 9, "Failed", "ran out of memory")]
    [InlineData("NODE_FAIL", "NodeDown", 0, 0, "Failed", "a node it ran on failed (reason: NodeDown)")]
    [InlineData("CANCELLED", null, 0, 15, "Cancelled", "not by Strata")]
    public void Slurm_states_map_to_step_states_with_the_reason(string slurmState, string? reason, int exit, int signal, string state, string? text)
    {
        var job = SlurmJobState.Create("12", "n", slurmState, reason, new SlurmExitStatus(exit, signal));
        var status = SlurmStepOperator.StatusOf("12", null, false, true, job);
        Assert.Equal(Enum.Parse<StepJobState>(state), status.State);
        if (text is null) Assert.Null(status.Reason);
        else Assert.Contains(text, status.Reason);
        if (signal != 0) Assert.Equal(128 + signal, status.ExitCode);
        else if (status.IsFinished) Assert.Equal(exit, status.ExitCode);
    }

    [Fact]
    public void Step_directories_are_named_after_the_step_run_and_cannot_leave_the_work_directory()
    {
        Assert.Equal("/w/0193-abc", SlurmStepJob.DirectoryFor("/w", "0193-abc"));
        Assert.Equal("/w/etcpasswd", SlurmStepJob.DirectoryFor("/w", "../../etc/passwd"));
        Assert.Throws<SlurmException>(() => SlurmStepJob.DirectoryFor("/w", "../.."));
    }
}

/// <summary>The monitor that lets many polling steps share Slurm queries.</summary>
public sealed class SlurmJobMonitorTests
{
    /// <summary>Answers every known job as RUNNING after a short delay and counts the queries.</summary>
    private sealed class CountingTransport : ISlurmTransport
    {
        public int Queries;
        public List<IReadOnlyCollection<string>> Asked { get; } = [];
        public HashSet<string> Known { get; } = [];

        public async Task<IReadOnlyDictionary<string, SlurmJobState>> GetJobsAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Queries);
            lock (Asked) Asked.Add(jobIds.ToArray());
            await Task.Delay(50, cancellationToken);
            return jobIds.Where(Known.Contains).ToDictionary(id => id, id => SlurmJobState.Create(id, "n", "RUNNING", null, default));
        }

        public Task<string> SubmitAsync(SlurmJobSpec spec, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<SlurmJobState?> GetJobAsync(string jobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<SlurmJobState>> FindJobsByNameAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task CancelAsync(string jobId, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<int?> GetMaxArraySizeAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Concurrent_questions_share_queries_and_every_job_gets_its_own_answer()
    {
        var transport = new CountingTransport();
        var ids = Enumerable.Range(1, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        foreach (var id in ids.Take(9)) transport.Known.Add(id);
        var monitor = new SlurmJobMonitor(transport, TimeProvider.System) { MaxAge = TimeSpan.FromMinutes(1) };

        var answers = await Task.WhenAll(ids.Select(id => Task.Run(() => monitor.GetAsync(id, CancellationToken.None))));

        Assert.All(answers.Take(9), (a, i) => Assert.Equal(ids[i], a!.JobId));
        Assert.Null(answers[9]); // unknown to Slurm
        Assert.InRange(transport.Queries, 1, 3); // one query, plus one for jobs that came after it left
        var before = transport.Queries;
        Assert.Equal("3", (await monitor.GetAsync("3", CancellationToken.None))!.JobId);
        Assert.Equal(before, transport.Queries); // a fresh answer is reused
        monitor.Invalidate();
        await monitor.GetAsync("3", CancellationToken.None);
        Assert.Equal(before + 1, transport.Queries);
        Assert.Equal(10, transport.Asked[^1].Count); // every followed job is asked about together

        monitor.Forget("10");
        monitor.Invalidate();
        await monitor.GetAsync("3", CancellationToken.None);
        Assert.DoesNotContain("10", transport.Asked[^1]);
    }
}

/// <summary>How the operator groups launches into job arrays; Slurm itself is played by a transport that records what it is sent.</summary>
public sealed class SlurmJobArrayGroupingTests : IDisposable
{
    private readonly TempDirectory _dir = new("strata-slurm-arrays");

    public void Dispose() => _dir.Dispose();

    /// <summary>Accepts every submission with the next job id, reports a MaxArraySize of 2, and knows no jobs.</summary>
    private sealed class RecordingTransport : ISlurmTransport
    {
        private int _next = 100;
        public List<SlurmJobSpec> Submitted { get; } = [];

        public Task<string> SubmitAsync(SlurmJobSpec spec, CancellationToken cancellationToken = default)
        {
            spec.Validate();
            lock (Submitted) Submitted.Add(spec);
            return Task.FromResult(Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public Task<int?> GetMaxArraySizeAsync(CancellationToken cancellationToken = default) => Task.FromResult<int?>(2);
        public Task<SlurmJobState?> GetJobAsync(string jobId, CancellationToken cancellationToken = default) => Task.FromResult<SlurmJobState?>(null);
        public Task<IReadOnlyDictionary<string, SlurmJobState>> GetJobsAsync(IReadOnlyCollection<string> jobIds, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyDictionary<string, SlurmJobState>>(new Dictionary<string, SlurmJobState>());
        public Task<IReadOnlyList<SlurmJobState>> FindJobsByNameAsync(string name, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<SlurmJobState>>([]);
        public Task CancelAsync(string jobId, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }

    private static StepLaunch Launch(string step, string definition, SlurmStepOperatorSettings settings, StepResources? resources = null) => new()
    {
        Pipeline = "fan", RunId = "run-1", RunName = "fan-1", StepName = step, StepDefinition = definition, StepRunId = Guid.CreateVersion7().ToString(),
        Command = ["dotnet", "App.dll", "strata-step", "--manifest", $"/shared/{step}/manifest.json"], Environment = new Dictionary<string, string>(),
        Settings = settings, Resources = resources ?? StepResources.None, ManifestUri = $"/shared/{step}/manifest.json",
    };

    [Fact]
    public async Task Launches_that_share_everything_sbatch_sees_become_arrays_split_at_MaxArraySize_and_the_others_single_jobs()
    {
        var transport = new RecordingTransport();
        var config = new SlurmStepOperatorConfig { WorkDir = _dir.Combine("work"), Partition = "debug" };
        await using var op = new SlurmStepOperator(config, transport);
        var settings = new SlurmStepOperatorSettings { Partition = "debug" };
        var launches = new List<StepLaunch>();
        for (var i = 0; i < 5; i++) launches.Add(Launch($"branch_{i}", "App.Branch", settings));
        launches.Add(Launch("other", "App.Other", settings));                                                  // another step
        launches.Add(Launch("big", "App.Branch", settings, new StepResources(Cpus: 4)));                       // other resources
        launches.Add(Launch("gpu", "App.Branch", new SlurmStepOperatorSettings { Partition = "gpu" }));        // other settings

        var jobs = await op.SubmitManyAsync(launches);

        // Five branches at a MaxArraySize of 2: arrays of 2, 2 and a single job; the three that differ go alone.
        Assert.Equal([2, 2, null, null, null, null], transport.Submitted.Select(s => s.ArrayTasks));
        Assert.Equal(["101_0", "101_1", "102_0", "102_1", "103", "104", "105", "106"], jobs.Select(j => j.JobId));
        Assert.Equal(launches.Select(l => l.StepRunId), jobs.Select(j => j.StepRunId));
        Assert.All(transport.Submitted.Take(2), s => Assert.EndsWith("/%A_%a.out", s.StandardOutput));
        for (var i = 0; i < 4; i++)
        {
            // Each task has its step's own directory, script and recorded task id, as a job of its own would.
            var dir = jobs[i].Data["step_dir"];
            Assert.Equal(jobs[i].JobId, (await File.ReadAllTextAsync(Path.Combine(dir, "job_id"))).Trim());
            Assert.Contains($"/shared/branch_{i}/manifest.json", await File.ReadAllTextAsync(Path.Combine(dir, "job.sh")));
            Assert.Contains($"  {i % 2}) dir={dir} ;;", transport.Submitted[i / 2].Script);
        }
        Assert.Equal(TimeSpan.FromMilliseconds(100), op.SubmitWindow);
        Assert.Null(new SlurmStepOperator(new SlurmStepOperatorConfig { WorkDir = "/w", MaxJobs = 3 }, transport).SubmitWindow);
    }
}
