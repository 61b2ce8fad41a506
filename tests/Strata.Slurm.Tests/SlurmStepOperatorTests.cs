using System.Text.Json;
using Strata.Testing;
using Strata.Tests.Support;

namespace Strata.Slurm.Tests;

/// <summary>
/// The slurm step operator on the real test cluster, through one transport: the conformance suite, and what only Slurm
/// does (its job ids and states, setup lines, the private environment file, handles used after a restart).
/// No test asserts a duration; waits only bound a hang.
/// </summary>
public abstract class SlurmStepOperatorTests(SlurmCluster cluster, string transport) : StepOperatorConformance
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    protected SlurmCluster Cluster => cluster;

    protected override string Flavor => "slurm";

    protected override FlavorRegistry Flavors => new FlavorRegistry().AddSlurm();

    protected override IReadOnlyDictionary<string, string> OperatorConfig => SlurmTestHome.OperatorConfig(cluster, transport, Path.Combine(CaseDirectory, "work"));

    // The test cluster's node is this machine: a local store in a temp directory is shared with it.
    protected override ArtifactStoreUnderTest ArtifactStore =>
        new("local", new Dictionary<string, string> { ["path"] = Path.Combine(CaseDirectory, "artifacts"), ["shared"] = "true" });

    protected override async Task PrepareAsync(StrataClient client)
    {
        if (transport == "rest") await client.Secrets.CreateAsync("slurm", new Dictionary<string, string> { ["token"] = cluster.Jwt });
    }

    protected override QueueSupport Queue => QueueSupport.HeldBy(new Dictionary<string, string> { ["hold"] = "true" }, "JobHeldUser");

    protected override ResourceSupport Resources => ResourceSupport.Mapped("NumCPUs=2", "MinMemoryNode=1G");

    /// <summary>The job while Slurm has not finished it, and any process on the node that runs as part of it.</summary>
    protected override async Task<IReadOnlyList<string>> LiveJobsAsync(StepJob job)
    {
        if (job.JobId.Contains('_', StringComparison.Ordinal))
        {
            // An array task: it alone (the array's name is shared by its tasks), and what runs in its step's directory.
            var tasks = (await ActiveTasksAsync(job.JobId)).Select(t => $"Slurm array task {t}").ToList();
            tasks.AddRange(ConformanceProcesses.InDirectory(job.Data["step_dir"]));
            return tasks;
        }
        var live = (await ActiveJobsAsync(job.Data["job_name"])).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(j => $"Slurm job {j}").ToList();
        live.AddRange(ConformanceProcesses.WithEnvironment("SLURM_JOB_ID", job.JobId));
        return live;
    }

    /// <summary>The job's script and what Slurm shows of the job.</summary>
    protected override async Task<string> JobSpecAsync(StepJob job) =>
        await File.ReadAllTextAsync(Path.Combine(job.Data["step_dir"], "job.sh")) + "\n" + await ScontrolAsync(job.JobId);

    /// <summary>Jobs with this name that Slurm has not finished (pending, running, completing, ...).</summary>
    protected async Task<string> ActiveJobsAsync(string name)
    {
        var (code, output) = await cluster.SlurmAsync("squeue", "--noheader", $"--name={name}", "--format=%i %T");
        Assert.Equal(0, code);
        return output.Trim();
    }

    /// <summary>The tasks (<c>ID_N</c>) of these jobs or array tasks that Slurm has not finished, each with its state.</summary>
    protected async Task<IReadOnlyList<string>> ActiveTasksAsync(string jobIds)
    {
        var (code, output) = await cluster.SlurmAsync("squeue", "--noheader", "--array", $"--jobs={jobIds}",
            "--states=PENDING,CONFIGURING,RUNNING,COMPLETING,SUSPENDED", "--format=%i %T");
        // squeue refuses a single id it no longer knows (ended longer ago than MinJobAge): nothing of it is active.
        if (code != 0 && output.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase)) return [];
        Assert.True(code == 0, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Every task Slurm knows (finished ones too, until MinJobAge) of array job <paramref name="arrayJobId"/>: "ID_N STATE".</summary>
    protected async Task<IReadOnlyList<string>> ArrayTasksAsync(string arrayJobId)
    {
        var (code, output) = await cluster.SlurmAsync("squeue", "--noheader", "--array", "--states=all", $"--jobs={arrayJobId}",
            "--Format=ArrayJobID:|,ArrayTaskID:|,State:|");
        Assert.True(code == 0, output);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split('|')).Select(p => $"{p[0].Trim()}_{p[1].Trim()} {p[2].Trim()}").Order(StringComparer.Ordinal).ToList();
    }

    private static (string ArrayJobId, string TaskId) TaskOf(StepJob job)
    {
        var parts = job.JobId.Split('_');
        Assert.True(parts.Length == 2 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)), $"job {job.JobId} is not an array task (ID_N)");
        return (parts[0], parts[1]);
    }

    [Fact]
    public async Task A_fan_out_of_one_step_is_one_job_array_and_a_failing_task_fails_only_its_step()
    {
        await using var home = await SlurmTestHome.OpenAsync(cluster, transport);
        const int width = 6;
        bool Fails(int i) => i % 3 == 2;

        // A parallelism of 2 does not hold the fan-out back: the six branches reach Slurm together.
        var result = await home.RunAsync(p =>
        {
            var numbers = p.Step(SlurmSteps.Numbers, 3);
            for (var i = 0; i < width; i++) p.Step(SlurmSteps.Branch, numbers, i, Fails(i)).Named($"branch_{i}");
        }, maxParallelism: 2);

        for (var i = 0; i < width; i++)
        {
            var step = result[$"branch_{i}"];
            if (Fails(i))
            {
                Assert.Equal(ExecutionStatus.Failed, step.Status);
                Assert.Contains($"branch {i} failed on purpose", step.Error);
            }
            else
            {
                Assert.True(step.Status == ExecutionStatus.Completed, step.Error);
                Assert.Equal(6 + i, await result.LoadAsync<int>($"branch_{i}"));
            }
        }
        var tasks = new List<(string ArrayJobId, string TaskId)>();
        for (var i = 0; i < width; i++)
        {
            var task = TaskOf(await home.JobOfAsync(result, $"branch_{i}"));
            tasks.Add(task);
            // Each task's output is its own step's log.
            Assert.Contains($"branch {i} in array task {task.ArrayJobId}_{task.TaskId}", await home.StepLogAsync(result, $"branch_{i}"));
        }
        var arrayJobId = Assert.Single(tasks.Select(t => t.ArrayJobId).Distinct());
        Assert.Equal(width, tasks.Select(t => t.TaskId).Distinct().Count());
        // Slurm saw one array of six tasks: the failing ones failed, the others completed.
        var expected = tasks.Select((t, i) => $"{t.ArrayJobId}_{t.TaskId} {(Fails(i) ? "FAILED" : "COMPLETED")}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, await ArrayTasksAsync(arrayJobId));
    }

    [Fact]
    public async Task Retries_resubmit_only_the_failed_tasks_as_an_array_of_their_own()
    {
        await using var home = await SlurmTestHome.OpenAsync(cluster, transport);
        var marks = home.Combine("marks");
        Directory.CreateDirectory(marks);
        const int width = 4;
        bool Flaky(int i) => i % 2 == 1;

        var result = await home.RunAsync(p =>
        {
            for (var i = 0; i < width; i++) p.Step(SlurmSteps.FlakyBranch, marks, i, Flaky(i)).Named($"branch_{i}");
        }, maxParallelism: 2);

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Error}")));
        var runs = await home.Client.Store.ListStepRunsAsync(result.Run.Id);
        var firstArray = new HashSet<string>();
        var retried = new HashSet<string>();
        for (var i = 0; i < width; i++)
        {
            var attempts = runs.Where(r => r.Name == $"branch_{i}").OrderBy(r => r.Attempt).ToList();
            Assert.Equal(Flaky(i) ? 2 : 1, attempts.Count);
            Assert.Equal(Flaky(i) ? 2 : 1, File.ReadAllLines(Path.Combine(marks, $"branch-{i}")).Length);
            firstArray.Add(TaskOf(JsonSerializer.Deserialize<StepJob>(attempts[0].Job!, SlurmTestHome.HandleJson)!).ArrayJobId);
            if (Flaky(i)) retried.Add(JsonSerializer.Deserialize<StepJob>(attempts[1].Job!, SlurmTestHome.HandleJson)!.JobId.Split('_')[0]);
        }
        var first = Assert.Single(firstArray);
        Assert.Equal(width, (await ArrayTasksAsync(first)).Count);
        // The retries went to Slurm anew (as one array when they failed close enough together to be gathered), holding the failed branches only.
        Assert.DoesNotContain(first, retried);
        Assert.Equal(Enumerable.Range(0, width).Count(Flaky), (await ArrayTasksAsync(string.Join(',', retried))).Count);
    }

    [Fact]
    public async Task Cancelling_the_run_cancels_every_task_of_its_job_array()
    {
        // Held: no task can start or end, so all of them are in Slurm when the run is cancelled.
        await using var home = await SlurmTestHome.OpenAsync(cluster, transport, new Dictionary<string, string> { ["hold"] = "true" });
        const int width = 4;
        var observer = new RecordingObserver();
        using var stop = new CancellationTokenSource();
        var run = home.RunAsync(p =>
        {
            for (var i = 0; i < width; i++) p.Step(SlurmSteps.Nap, 300 + i);
        }, observer, maxParallelism: 2, cancellationToken: stop.Token);

        using var timeout = new CancellationTokenSource(Patience);
        while (!run.IsCompleted && observer.Changes.Count(c => c.Status == ExecutionStatus.Pending) < width)
            await Task.Delay(100, timeout.Token);
        await stop.CancelAsync();
        var result = await run.WaitAsync(Patience);

        Assert.All(result.Steps, s => Assert.Equal(ExecutionStatus.Cancelled, s.Status));
        var jobs = new List<StepJob>();
        foreach (var step in result.Steps) jobs.Add(await home.JobOfAsync(result, step.Name));
        var arrayJobId = Assert.Single(jobs.Select(j => TaskOf(j).ArrayJobId).Distinct());
        Assert.Empty(await ActiveTasksAsync(arrayJobId));
        // What Slurm keeps of the array is cancelled (an array whose tasks were all cancelled before starting is one record).
        var left = await ArrayTasksAsync(arrayJobId);
        Assert.NotEmpty(left);
        Assert.All(left, t => Assert.EndsWith(" CANCELLED", t));
    }

    [Fact]
    public async Task Array_tasks_are_found_again_after_a_restart_and_cancelled_one_at_a_time()
    {
        using var dir = new TempDirectory("strata-slurm-array-restart");
        var (create, settings) = StoredOperator(dir);
        var runId = Guid.CreateVersion7().ToString();
        StepLaunch Launch(int i) => new()
        {
            Pipeline = "restart", RunId = runId, RunName = "restart-1", StepName = $"nap_{i}", StepDefinition = "Tests.Nap",
            StepRunId = Guid.CreateVersion7().ToString(), Command = ["/bin/sh", "-c", "echo started $0; exec sleep 300", $"{i}"],
            Environment = new Dictionary<string, string>(), Settings = settings,
            Resources = new StepResources(Cpus: 1, MemoryBytes: 100L * 1024 * 1024), Timeout = TimeSpan.FromSeconds(90), ManifestUri = "unused",
        };
        var launches = new[] { Launch(0), Launch(1) };

        var first = create();
        var stored = (await first.SubmitManyAsync(launches)).Select(j => JsonSerializer.Serialize(j, SlurmTestHome.HandleJson)).ToList();
        await first.DisposeAsync();

        // The orchestrator restarts: a new operator, the handles from the store.
        var second = create();
        var jobs = stored.Select(s => JsonSerializer.Deserialize<StepJob>(s, SlurmTestHome.HandleJson)!).ToList();
        Assert.Single(jobs.Select(j => TaskOf(j).ArrayJobId).Distinct());
        for (var i = 0; i < jobs.Count; i++)
        {
            Assert.Equal(StepJobState.Running, (await WaitForAsync(second, jobs[i], s => s.State != StepJobState.Queued)).State);
            using var logs = new CancellationTokenSource(Patience);
            await foreach (var line in second.StreamLogsAsync(jobs[i], logs.Token))
            {
                Assert.Equal($"started {i}", line);
                break;
            }
            // Submitting the same step run again finds its task instead of starting another job.
            Assert.Equal(jobs[i].JobId, (await second.SubmitAsync(launches[i])).JobId);
        }

        // Cancelling one task leaves the other running.
        await second.CancelAsync(jobs[0]);
        Assert.Equal(StepJobState.Cancelled, (await WaitForAsync(second, jobs[0], s => s.IsFinished)).State);
        Assert.Equal(StepJobState.Running, (await second.GetStatusAsync(jobs[1])).State);
        Assert.Equal([jobs[1].JobId + " RUNNING"], await ActiveTasksAsync(string.Join(',', jobs.Select(j => j.JobId))));

        await second.CancelAsync(jobs[1]);
        Assert.Equal(StepJobState.Cancelled, (await WaitForAsync(second, jobs[1], s => s.IsFinished)).State);
        foreach (var job in jobs) await second.CleanupAsync(job);
        await second.DisposeAsync();
    }

    /// <summary>
    /// The operator as a process after a restart has it: built anew from its stored config, as often as asked, with the settings a
    /// launch of it carries.
    /// </summary>
    private (Func<StepOperator> Create, object Settings) StoredOperator(TempDirectory dir)
    {
        var flavor = (StepOperatorFlavor)new FlavorRegistry().AddSlurm().Get(ComponentType.StepOperator, "slurm");
        var values = SlurmTestHome.OperatorConfig(cluster, transport, dir.Combine("work"));
        if (values.ContainsKey("token")) values["token"] = cluster.Jwt;
        var context = new StepOperatorContext(new StrataHome(dir.Combine("home")), new LocalArtifactStore(dir.Combine("artifacts")) { Shared = true });
        return (() => flavor.Create(flavor.Schema.Bind(values), context), flavor.Schema.Bind(values));
    }

    private async Task<string> ScontrolAsync(string jobId)
    {
        var (code, output) = await cluster.SlurmAsync("scontrol", "show", "job", "-o", jobId);
        Assert.True(code == 0, output);
        return output;
    }

    private static async Task<StepJobStatus> WaitForAsync(StepOperator op, StepJob job, Func<StepJobStatus, bool> until)
    {
        using var timeout = new CancellationTokenSource(Patience);
        StepJobStatus? last = null;
        while (!timeout.IsCancellationRequested)
        {
            last = await op.GetStatusAsync(job);
            if (until(last)) return last;
            await Task.Delay(100);
        }
        throw new TimeoutException($"job {job.JobId} never reached the awaited state; last: {last}");
    }

    [Fact]
    public async Task A_step_runs_as_a_Slurm_job_and_its_output_reaches_the_next_in_process_step_with_its_log()
    {
        await using var home = await SlurmTestHome.OpenAsync(cluster, transport);
        var observer = new RecordingObserver();

        var result = await home.RunAsync(p =>
        {
            var numbers = p.Step(SlurmSteps.Numbers, 100);
            var sum = p.Step(SlurmSteps.SumOnCluster, numbers);
            p.Step(SlurmSteps.Report, sum);
        }, observer);

        Assert.True(result.Succeeded, string.Join("; ", result.Steps.Select(s => $"{s.Name}: {s.Status} {s.Error}")));
        Assert.Equal("sum=5050", await result.LoadAsync<string>("report"));
        Assert.Equal(5050, await result.LoadAsync<int>("sum_on_cluster"));
        Assert.StartsWith(home.ArtifactsDir, result["sum_on_cluster"].Outputs["output"].Uri, StringComparison.Ordinal);

        var job = await home.JobOfAsync(result, "sum_on_cluster");
        Assert.Matches("^[0-9]+$", job.JobId);
        var log = await home.StepLogAsync(result, "sum_on_cluster");
        Assert.Contains($"summing 100 numbers in Slurm job {job.JobId}", log);
        Assert.Contains("a line on standard error", log);
        Assert.Contains($"ran on step operator 'hpc' (slurm), job {job.JobId}", log);
        // Live: the lines reached the observer (the console) while the run went on, not only the stored log.
        Assert.Contains(observer.Lines, l => l.Step == "sum_on_cluster" && l.Line.Contains("summing 100 numbers", StringComparison.Ordinal));
        Assert.Contains("COMPLETED", await ScontrolAsync(job.JobId));
        Assert.Empty(await ActiveJobsAsync(job.Data["job_name"]));
        // The job's exit code stays in its directory; the environment file went with the step.
        Assert.Equal("0", File.ReadAllText(Path.Combine(job.Data["step_dir"], "exit_code")).Trim());
        Assert.False(File.Exists(Path.Combine(job.Data["step_dir"], "env.sh")));
    }

    [Fact]
    public async Task A_setup_line_that_fails_ends_the_job_before_the_step_with_its_exit_code_and_output()
    {
        await using var home = await SlurmTestHome.OpenAsync(cluster, transport);

        var result = await home.RunAsync(p => p.Step(SlurmSteps.SumOnCluster, p.Step(SlurmSteps.Numbers, 3)), steps: new()
        {
            // A setup line that fails ends the job before the step starts: only Slurm knows how it ended.
            ["sum_on_cluster"] = new StepOverride { Settings = { ["setup"] = "echo the module system is broken >&2,exit 7" } },
        });

        var setup = result["sum_on_cluster"];
        Assert.Equal(ExecutionStatus.Failed, setup.Status);
        Assert.Contains("exit code 7", setup.Error);
        Assert.Contains("the module system is broken", setup.Error);
        var job = await home.JobOfAsync(result, "sum_on_cluster");
        Assert.Contains("JobState=FAILED", await ScontrolAsync(job.JobId));
    }

    [Fact]
    public async Task Secrets_reach_the_job_only_through_its_private_environment_file()
    {
        const string Distinctive = "slurm-secret-Quokka-Marmot-7731";
        // For the command-line transport, wrappers around the Slurm commands record every argument and sbatch's environment.
        var bin = new TempDirectory("strata-slurm-bin");
        var argv = Path.Combine(bin.Path, "argv.log");
        var extra = new Dictionary<string, string>();
        if (transport == "cli")
        {
            foreach (var command in new[] { "sbatch", "squeue", "scontrol", "scancel" })
            {
                var real = FindOnPath(command);
                var wrapper = Path.Combine(bin.Path, command);
                File.WriteAllText(wrapper, $"#!/bin/sh\nprintf '%s\\n' \"{command} $*\" >> '{argv}'\n[ {command} = sbatch ] && env >> '{argv}'\nexec '{real}' \"$@\"\n");
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, (UnixFileMode)Convert.ToInt32("755", 8));
            }
            extra["slurm_bin_dir"] = bin.Path;
        }
        using var _ = bin;
        await using var home = await SlurmTestHome.OpenAsync(cluster, transport, extra);
        await home.Client.Secrets.CreateAsync("api", new Dictionary<string, string> { ["api_key"] = Distinctive });

        var result = await home.RunAsync(p => p.Step(SlurmSteps.SecretCheck, 1));

        Assert.True(result.Succeeded, result["secret_check"].Error);
        Assert.Equal($"sha256={SlurmSteps.Hash(Distinctive)};env_mode=600", await result.LoadAsync<string>("secret_check"));
        var job = await home.JobOfAsync(result, "secret_check");
        var stepDir = job.Data["step_dir"];
        Assert.DoesNotContain(Distinctive, File.ReadAllText(Path.Combine(stepDir, "job.sh")));
        Assert.False(File.Exists(Path.Combine(stepDir, "env.sh")), "the environment file outlived the step");
        Assert.DoesNotContain(Distinctive, job.Data["job_name"]);
        Assert.DoesNotContain(Distinctive, await ScontrolAsync(job.JobId));
        Assert.DoesNotContain(Distinctive, JsonSerializer.Serialize(job));
        Assert.DoesNotContain(Distinctive, await home.StepLogAsync(result, "secret_check"));
        Assert.Contains($"the secret has {Distinctive.Length} characters", await home.StepLogAsync(result, "secret_check"));
        if (transport == "cli")
        {
            var recorded = File.ReadAllText(argv);
            Assert.Contains("sbatch --parsable --job-name=" + job.Data["job_name"], recorded);
            Assert.DoesNotContain(Distinctive, recorded);
        }
    }

    [Fact]
    public async Task A_new_operator_finds_a_job_by_its_stored_handle_follows_it_and_cancels_it()
    {
        using var dir = new TempDirectory("strata-slurm-restart");
        var (create, settings) = StoredOperator(dir);
        var launch = new StepLaunch
        {
            Pipeline = "restart",
            RunId = Guid.CreateVersion7().ToString(),
            RunName = "restart-1",
            StepName = "nap",
            StepRunId = Guid.CreateVersion7().ToString(),
            Command = ["/bin/sh", "-c", "echo started; exec sleep 300"],
            Environment = new Dictionary<string, string>(),
            Settings = settings,
            Resources = new StepResources(Cpus: 1, MemoryBytes: 100L * 1024 * 1024),
            Timeout = TimeSpan.FromSeconds(90),
            ManifestUri = "unused",
        };

        var first = create();
        var submitted = await first.SubmitAsync(launch);
        var stored = JsonSerializer.Serialize(submitted, SlurmTestHome.HandleJson);
        await first.DisposeAsync();

        // The orchestrator restarts: a new operator, the handle from the store.
        var second = create();
        var job = JsonSerializer.Deserialize<StepJob>(stored, SlurmTestHome.HandleJson)!;
        Assert.Equal(StepJobState.Running, (await WaitForAsync(second, job, s => s.State != StepJobState.Queued)).State);
        var details = await ScontrolAsync(job.JobId);
        Assert.Contains($"JobName={job.Data["job_name"]}", details);
        Assert.StartsWith("strata-restart-nap-", job.Data["job_name"], StringComparison.Ordinal);
        Assert.Contains("MinMemoryNode=100M", details);
        Assert.Contains("TimeLimit=00:02:00", details); // the step timeout, rounded up to whole minutes
        using (var logs = new CancellationTokenSource(Patience))
        {
            await foreach (var line in second.StreamLogsAsync(job, logs.Token))
            {
                Assert.Equal("started", line);
                break;
            }
        }
        // Submitting the same step run again finds the job instead of starting another.
        Assert.Equal(job.JobId, (await second.SubmitAsync(launch)).JobId);

        await second.CancelAsync(job);
        await second.CancelAsync(job); // safe twice
        var status = await WaitForAsync(second, job, s => s.IsFinished);
        Assert.Equal(StepJobState.Cancelled, status.State);
        Assert.Empty(await ActiveJobsAsync(job.Data["job_name"]));
        await second.CleanupAsync(job);
        Assert.False(File.Exists(Path.Combine(job.Data["step_dir"], "env.sh")));
        await second.DisposeAsync();
    }

    private static string FindOnPath(string command) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, command)).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"{command} is not on PATH");
}

[Collection(SlurmClusterCollection.Name)]
public sealed class SlurmCliStepOperatorTests(SlurmCluster cluster) : SlurmStepOperatorTests(cluster, "cli")
{
    [Fact]
    public async Task Ready_steps_are_submitted_without_waiting_for_each_other()
    {
        await using var home = await SlurmTestHome.OpenAsync(Cluster, "cli", new Dictionary<string, string> { ["hold"] = "true" });
        const int width = 4;
        var observer = new RecordingObserver();

        using var stop = new CancellationTokenSource();
        var run = home.RunAsync(p =>
        {
            for (var i = 0; i < width; i++) p.Step(SlurmSteps.Nap, i + 1);
        }, observer, maxParallelism: width, cancellationToken: stop.Token); // the orchestrator's parallelism bounds how many steps are in Slurm at once
        // Every job is held, so none can finish: if submission waited for earlier jobs, fewer would be pending at once.
        using var timeout = new CancellationTokenSource(Patience);
        var pendingAtOnce = 0;
        while (!run.IsCompleted && !timeout.IsCancellationRequested)
        {
            var (_, output) = await Cluster.SlurmAsync("squeue", "--noheader", "--array", "--states=PENDING", "--format=%j %r");
            var ours = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains("-nap", StringComparison.Ordinal) && l.Contains("JobHeldUser", StringComparison.Ordinal));
            pendingAtOnce = Math.Max(pendingAtOnce, ours);
            if (pendingAtOnce >= width) break;
            await Task.Delay(100);
        }
        await stop.CancelAsync(); // the held jobs are cancelled with the run
        var result = await run.WaitAsync(Patience);

        Assert.Equal(width, pendingAtOnce);
        Assert.All(result.Steps, s => Assert.Equal(ExecutionStatus.Cancelled, s.Status));
        foreach (var step in result.Steps)
            Assert.Empty(await ActiveJobsAsync((await home.JobOfAsync(result, step.Name)).Data["job_name"]));
    }
}

[Collection(SlurmClusterCollection.Name)]
public sealed class SlurmRestStepOperatorTests(SlurmCluster cluster) : SlurmStepOperatorTests(cluster, "rest");
