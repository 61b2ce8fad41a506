using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace Strata.Slurm;

/// <summary>
/// Runs each step as a Slurm batch job. The job's files live in a directory per step run under the shared work
/// directory: the script, the environment file it sources (0600; the step's environment and secrets, never on a command
/// line), the job's output, and the exit code the script records. The handle holds the job id, its name (derived from
/// the step-run id) and that directory, so status, logs and cancel work from another process after a restart.
/// Steps that become ready together and share their step, settings and resources go as one job array
/// (<see cref="SubmitManyAsync"/>): each task runs the script in its own step's directory with its output there, and its
/// handle's job id is <c>ARRAYJOBID_TASKID</c>, so everything else works per task as it does per job.
/// </summary>
internal sealed class SlurmStepOperator : StepOperator
{
    /// <summary>How long a Slurm that does not answer is waited out (a controller restart) before polls fail the step.</summary>
    private static readonly TimeSpan OutageGrace = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan FilePollInterval = TimeSpan.FromMilliseconds(50);

    private readonly SlurmStepOperatorConfig _config;
    private readonly ISlurmTransport _transport;
    private readonly SlurmJobMonitor _monitor;
    private readonly TimeProvider _time;
    private readonly JobSlots _slots;
    private readonly ConcurrentDictionary<string, StepJobStatus> _lastStatus = new();
    private DateTimeOffset? _outageSince;
    private int? _maxArraySize;

    public SlurmStepOperator(SlurmStepOperatorConfig config, ISlurmTransport transport, TimeProvider? time = null)
    {
        _config = config;
        _transport = transport;
        _time = time ?? TimeProvider.System;
        _monitor = new SlurmJobMonitor(transport, _time);
        _slots = new JobSlots(config.MaxJobs);
    }

    /// <summary>Gathers ready steps into job arrays (see <see cref="SlurmStepOperatorConfig.JobArrays"/>); not with max_jobs.</summary>
    public override TimeSpan? SubmitWindow => _config.JobArrays && _config.MaxJobs <= 0 ? _config.ArrayWindow : null;

    /// <summary>
    /// Submits launches that share their step definition, settings, resources and timeouts as one job array (split at the
    /// cluster's MaxArraySize), and the others one by one.
    /// </summary>
    public override async Task<IReadOnlyList<StepJob>> SubmitManyAsync(IReadOnlyList<StepLaunch> launches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launches);
        if (!_config.JobArrays || _config.MaxJobs > 0) return await base.SubmitManyAsync(launches, cancellationToken).ConfigureAwait(false);
        var jobs = new StepJob[launches.Count];
        foreach (var group in launches.Select((launch, index) => (Launch: launch, Index: index)).GroupBy(l => ArrayKey(l.Launch), StringComparer.Ordinal))
        {
            var members = group.ToArray();
            if (members.Length > 1)
                _maxArraySize ??= await _transport.GetMaxArraySizeAsync(cancellationToken).ConfigureAwait(false) ?? SlurmJobIds.DefaultMaxArraySize;
            foreach (var chunk in members.Chunk(Math.Max(1, _maxArraySize ?? 1)))
            {
                var submitted = chunk.Length == 1
                    ? [await SubmitAsync(chunk[0].Launch, cancellationToken).ConfigureAwait(false)]
                    : await SubmitArrayAsync(chunk.Select(c => c.Launch).ToArray(), cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < chunk.Length; i++) jobs[chunk[i].Index] = submitted[i];
            }
        }
        return jobs;
    }

    /// <summary>What launches must share to go in one job array: everything that reaches sbatch, and the step they run.</summary>
    private static string ArrayKey(StepLaunch launch) => string.Join('\n',
        launch.Pipeline, launch.RunId, launch.StepDefinition ?? launch.StepName, launch.Settings.GetType().FullName,
        System.Text.Json.JsonSerializer.Serialize(launch.Settings, launch.Settings.GetType()), launch.Resources, launch.Timeout, launch.PendingTimeout,
        launch.Image, string.Join(' ', launch.Command.Take(launch.Command.Count - 1)));

    /// <summary>
    /// One sbatch for several steps: each step gets its directory, environment file and script as a job of its own would; the
    /// array's script, in a directory of its own with Slurm's output for each task (<c>%A_%a.out</c>), runs task N's step script
    /// with its output in that step's directory.
    /// </summary>
    private async Task<StepJob[]> SubmitArrayAsync(StepLaunch[] launches, CancellationToken cancellationToken)
    {
        var first = launches[0];
        var settings = (SlurmStepOperatorSettings)first.Settings;
        Check(first, settings);
        var stepDirs = launches.Select(l => SlurmStepJob.DirectoryFor(_config.WorkDir, l.StepRunId)).ToArray();
        // A step submitted before (the orchestrator stopped before recording its job) is found again the way SubmitAsync does.
        if (stepDirs.Any(Directory.Exists))
        {
            var jobs = new StepJob[launches.Length];
            for (var i = 0; i < launches.Length; i++) jobs[i] = await SubmitAsync(launches[i], cancellationToken).ConfigureAwait(false);
            return jobs;
        }
        var name = StepJobNames.For(first.StepRunId, first.Pipeline, first.StepName);
        var arrayDir = SlurmStepJob.DirectoryFor(_config.WorkDir, "array-" + first.StepRunId);
        CreatePrivateDirectory(_config.WorkDir, arrayDir);
        for (var i = 0; i < launches.Length; i++)
        {
            CreatePrivateDirectory(_config.WorkDir, stepDirs[i]);
            await WritePrivateFileAsync(Path.Combine(stepDirs[i], SlurmStepJob.EnvironmentFile), SlurmStepJob.EnvironmentFileText(launches[i]),
                cancellationToken).ConfigureAwait(false);
            await WritePrivateFileAsync(Path.Combine(stepDirs[i], SlurmStepJob.ScriptFile), SlurmStepJob.Script(launches[i], settings, stepDirs[i]),
                cancellationToken).ConfigureAwait(false);
        }
        var script = SlurmStepJob.ArrayScript(first, stepDirs);
        await WritePrivateFileAsync(Path.Combine(arrayDir, SlurmStepJob.ScriptFile), script, cancellationToken).ConfigureAwait(false);
        var spec = SlurmStepJob.Spec(name, script, settings, first.Resources, first.Timeout, arrayDir) with
        {
            ArrayTasks = launches.Length,
            StandardOutput = Path.Combine(arrayDir, SlurmStepJob.ArrayOutputPattern),
            StandardError = null,
        };
        cancellationToken.ThrowIfCancellationRequested();
        // Once sbatch runs the tasks may exist: no cancelling half way. A cancel after this reaches each task through its handle.
        var arrayJobId = await _transport.SubmitAsync(spec, CancellationToken.None).ConfigureAwait(false);
        var handles = new StepJob[launches.Length];
        for (var i = 0; i < launches.Length; i++)
        {
            var taskId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{arrayJobId}_{i}");
            await File.WriteAllTextAsync(Path.Combine(stepDirs[i], SlurmStepJob.JobIdFile), taskId + "\n", CancellationToken.None).ConfigureAwait(false);
            handles[i] = Handle(launches[i], taskId, name, stepDirs[i]);
        }
        return handles;
    }

    private void Check(StepLaunch launch, SlurmStepOperatorSettings settings)
    {
        var problems = SlurmStepJob.Problems(settings).ToList();
        if (problems.Count > 0)
            throw new SlurmException(SlurmErrorKind.InvalidSpec,
                $"Step '{launch.StepName}' cannot run on step operator '{Name}':{Environment.NewLine}  - " +
                string.Join(Environment.NewLine + "  - ", problems));
    }

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var settings = (SlurmStepOperatorSettings)launch.Settings;
        Check(launch, settings);
        var name = StepJobNames.For(launch.StepRunId, launch.Pipeline, launch.StepName);
        var stepDir = SlurmStepJob.DirectoryFor(_config.WorkDir, launch.StepRunId);

        await _slots.WaitAsync(launch.StepRunId, cancellationToken).ConfigureAwait(false);
        try
        {
            // The directory exists only when this step run was submitted before (the orchestrator stopped between sbatch
            // and recording the job): find that job instead of starting a second one, by the task id recorded there for an
            // array task (the array bears another step's name), else by its name.
            if (Directory.Exists(stepDir))
            {
                if (await RecordedTaskAsync(stepDir, cancellationToken).ConfigureAwait(false) is { } task)
                    return Handle(launch, task.JobId, task.Name ?? name, stepDir);
                // Not an array task: an array is named after its first step, whose task is found by its recorded id or not at all.
                var earlier = (await _transport.FindJobsByNameAsync(name, cancellationToken).ConfigureAwait(false))
                    .LastOrDefault(j => !j.IsTerminal && !j.JobId.Contains('_', StringComparison.Ordinal));
                if (earlier is not null) return Handle(launch, earlier.JobId, name, stepDir);
                new JobDirectory(stepDir).ClearOutcome();
            }
            CreatePrivateDirectory(_config.WorkDir, stepDir);
            await WritePrivateFileAsync(Path.Combine(stepDir, SlurmStepJob.EnvironmentFile), SlurmStepJob.EnvironmentFileText(launch),
                cancellationToken).ConfigureAwait(false);
            var script = SlurmStepJob.Script(launch, settings, stepDir);
            await WritePrivateFileAsync(Path.Combine(stepDir, SlurmStepJob.ScriptFile), script, cancellationToken).ConfigureAwait(false);
            var spec = SlurmStepJob.Spec(name, script, settings, launch.Resources, launch.Timeout, stepDir);
            cancellationToken.ThrowIfCancellationRequested();
            // Once sbatch runs the job may exist: no cancelling half way. A cancel after this reaches the job through its handle.
            var jobId = await _transport.SubmitAsync(spec, CancellationToken.None).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(stepDir, SlurmStepJob.JobIdFile), jobId + "\n", CancellationToken.None).ConfigureAwait(false);
            return Handle(launch, jobId, name, stepDir);
        }
        catch
        {
            _slots.Release(launch.StepRunId);
            throw;
        }
    }

    /// <summary>The array task recorded in the step's directory, when Slurm still runs it.</summary>
    private async Task<SlurmJobState?> RecordedTaskAsync(string stepDir, CancellationToken cancellationToken)
    {
        string recorded;
        try { recorded = (await File.ReadAllTextAsync(Path.Combine(stepDir, SlurmStepJob.JobIdFile), cancellationToken).ConfigureAwait(false)).Trim(); }
        catch (FileNotFoundException) { return null; }
        if (!recorded.Contains('_', StringComparison.Ordinal)) return null;
        var states = await _transport.GetJobsAsync([SlurmJobIds.Check(recorded)], cancellationToken).ConfigureAwait(false);
        return states.TryGetValue(recorded, out var state) && !state.IsTerminal ? state : null;
    }

    private StepJob Handle(StepLaunch launch, string jobId, string name, string stepDir) => new(Name, jobId, launch.StepRunId, new Dictionary<string, string>
    {
        ["job_name"] = name,
        ["step_dir"] = stepDir,
        ["transport"] = _config.Transport.ToString().ToLowerInvariant(),
    });

    public override async Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var files = Files(job);
        var exitCode = files.ReadExitCode();
        var cancelled = files.IsCancelled;
        // A recorded exit code settles it, unless Strata cancelled the job: then only Slurm can say it has stopped.
        if (exitCode is not null && !cancelled) return Remember(job, StatusOf(job.JobId, exitCode, false, true, null));
        SlurmJobState? state;
        try
        {
            state = await _monitor.GetAsync(job.JobId, cancellationToken).ConfigureAwait(false);
            _outageSince = null;
        }
        catch (SlurmException e) when (e.Kind == SlurmErrorKind.Unavailable && _lastStatus.TryGetValue(job.JobId, out var last) && !last.IsFinished)
        {
            // A controller that restarts or is busy for a moment should not fail steps that are running fine.
            var since = _outageSince ??= _time.GetUtcNow();
            if (_time.GetUtcNow() - since > OutageGrace) throw;
            return last;
        }
        // A job that vanished may have written its exit code just before: look again.
        exitCode ??= state is null ? files.ReadExitCode() : null;
        return Remember(job, StatusOf(job.JobId, exitCode, cancelled || files.IsCancelled, state is not null, state));
    }

    private StepJobStatus Remember(StepJob job, StepJobStatus status)
    {
        _lastStatus[job.JobId] = status;
        return status;
    }

    /// <summary>
    /// The step's status from what is known: the exit code the script recorded wins; then Slurm's state; a job Slurm
    /// forgot without an exit code failed (or was cancelled, when Strata cancelled it).
    /// </summary>
    internal static StepJobStatus StatusOf(string jobId, int? exitCode, bool cancelled, bool knownToSlurm, SlurmJobState? state)
    {
        // Cancelled by Strata: finished only once Slurm no longer runs anything of the job (not even COMPLETING).
        if (cancelled)
            return knownToSlurm && state is { IsTerminal: false }
                ? new StepJobStatus(StepJobState.Running, $"cancelling: {state.Describe()}")
                : new StepJobStatus(StepJobState.Cancelled, "cancelled", exitCode ?? (state is null ? null : ExitOf(state)));
        if (exitCode is { } code)
            return code == 0
                ? new StepJobStatus(StepJobState.Succeeded, null, 0)
                : new StepJobStatus(StepJobState.Failed, $"the step's command exited with code {code} in Slurm job {jobId}", code);
        if (!knownToSlurm || state is null)
            return new StepJobStatus(StepJobState.Failed,
                $"Slurm job {jobId} vanished without recording an exit code: it ended longer ago than the cluster's MinJobAge, or was killed before its " +
                "script finished, or the work directory is not shared with the node it ran on");
        return state.Phase switch
        {
            SlurmJobPhase.Pending => new StepJobStatus(StepJobState.Queued, PendingReason(state)),
            SlurmJobPhase.Running or SlurmJobPhase.Unknown => new StepJobStatus(StepJobState.Running, state.SlurmState == "RUNNING" ? null : state.Describe()),
            SlurmJobPhase.Completed => new StepJobStatus(StepJobState.Succeeded, null, state.ExitCode ?? 0),
            SlurmJobPhase.Cancelled =>
                new StepJobStatus(StepJobState.Cancelled, state.Describe() + " (by scancel or an administrator, not by Strata)", ExitOf(state)),
            _ => new StepJobStatus(StepJobState.Failed, state.Describe(), ExitOf(state)),
        };
    }

    /// <summary>Slurm's exit code, or 128+signal for a job a signal ended (as a shell reports it).</summary>
    private static int? ExitOf(SlurmJobState state) => state.Signal is { } s ? 128 + s : state.ExitCode;

    /// <summary>Slurm's pending reason as Slurm names it, with what it means for the common ones.</summary>
    internal static string PendingReason(SlurmJobState state)
    {
        var reason = state.Reason;
        if (reason is null) return state.SlurmState == "PENDING" ? "PENDING: not scheduled yet" : state.Describe();
        var meaning = reason switch
        {
            "Resources" => "waiting for nodes with the requested resources to become free",
            "Priority" => "other jobs go first",
            "PartitionTimeLimit" => "its time limit is above the partition's maximum: lower time_limit or the step's timeout, or pick another partition",
            "PartitionNodeLimit" => "it asks for more nodes than the partition allows",
            "PartitionDown" or "PartitionInactive" => "the partition is not accepting jobs",
            "ReqNodeNotAvail" => "a node it needs is down, drained or reserved",
            "JobHeldUser" => "held: release it with `scontrol release JOBID`",
            "JobHeldAdmin" => "held by an administrator",
            "BeginTime" => "its start time has not come yet",
            "Dependency" => "waiting for the jobs it depends on",
            "DependencyNeverSatisfied" => "the jobs it depends on can never satisfy it",
            "QOSMaxJobsPerUserLimit" or "AssocMaxJobsLimit" or "QOSMaxSubmitJobPerUserLimit" => "you have as many jobs running as your limits allow",
            "InvalidAccount" => "the account is not valid for this user or partition",
            "InvalidQOS" => "the QOS is not valid for this user or partition",
            "BadConstraints" => "no node can satisfy its constraints",
            _ when reason.StartsWith("QOS", StringComparison.Ordinal)
                || reason.StartsWith("Assoc", StringComparison.Ordinal) => "a QOS or account limit holds it back",
            _ => null,
        };
        return meaning is null ? reason : $"{reason}: {meaning.Replace("JOBID", state.JobId, StringComparison.Ordinal)}";
    }

    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var files = Files(job);
        // Its script recorded an exit code: the job has ended and its outcome stands. Marking it cancelled now would make
        // it read as running again while Slurm still completes it, and then as cancelled.
        if (files.ReadExitCode() is not null && !files.IsCancelled) return;
        await files.MarkCancelledAsync().ConfigureAwait(false);
        await _transport.CancelAsync(job.JobId, cancellationToken).ConfigureAwait(false);
        _monitor.Invalidate();
    }

    public override Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        // The environment file may hold secrets: it goes as soon as the job is over. The rest stays for a look afterwards.
        try { File.Delete(Path.Combine(StepDir(job), SlurmStepJob.EnvironmentFile)); }
        catch (DirectoryNotFoundException) { }
        _monitor.Forget(job.JobId);
        _lastStatus.TryRemove(job.JobId, out _);
        _slots.Release(job.StepRunId);
        return Task.CompletedTask;
    }

    /// <summary>Returns as soon as the job's script records its exit code, or after <paramref name="delay"/>.</summary>
    public override async Task WaitForChangeAsync(StepJob job, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(time);
        var files = Files(job);
        var end = time.GetUtcNow() + delay;
        // Only the file's appearance is news; one that was there already (a cancelled job still stopping) is not.
        var seen = files.HasExitCodeFile;
        while (seen || !files.HasExitCodeFile)
        {
            var left = end - time.GetUtcNow();
            if (left <= TimeSpan.Zero) return;
            await Task.Delay(left < FilePollInterval ? left : FilePollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var files = Files(job);
        var readers = files.FollowOutput();
        for (var round = 0; ; round++)
        {
            // The exit code file comes last; otherwise ask (the monitor's answers are shared) every second or so.
            var finished = files.HasExitCodeFile
                || (round % 10 == 9 && await FinishedAsync(job, cancellationToken).ConfigureAwait(false));
            foreach (var reader in readers)
                foreach (var line in reader.ReadNewLines(final: finished))
                    yield return line;
            if (finished) yield break;
            var stopped = false;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                stopped = true;
            }
            if (stopped)
            {
                // Stopped from outside: hand over what the job wrote last.
                foreach (var reader in readers)
                    foreach (var line in reader.ReadNewLines(final: true))
                        yield return line;
                yield break;
            }
        }
    }

    private async Task<bool> FinishedAsync(StepJob job, CancellationToken cancellationToken)
    {
        try
        {
            return (await GetStatusAsync(job, cancellationToken).ConfigureAwait(false)).IsFinished;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string StepDir(StepJob job) =>
        job.Data.TryGetValue("step_dir", out var dir) && dir.Length > 0
            ? dir
            : throw new SlurmException(SlurmErrorKind.InvalidSpec,
                $"The handle of job {job.JobId} has no step_dir; it was not made by the slurm step operator.");

    private static JobDirectory Files(StepJob job) => new(StepDir(job));

    /// <summary>Creates the step's directory readable by this user only (the work directory itself is the user's to set up).</summary>
    private static void CreatePrivateDirectory(string workDir, string stepDir)
    {
        Directory.CreateDirectory(workDir);
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(stepDir);
        else Directory.CreateDirectory(stepDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Writes a file that is 0600 from its first byte (never readable by others, not even briefly), atomically.</summary>
    private static async Task WritePrivateFileAsync(string path, string text, CancellationToken cancellationToken)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        File.Delete(temp);
        await using (var stream = new FileStream(temp, options))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        File.Move(temp, path, overwrite: true);
    }

    public override ValueTask DisposeAsync()
    {
        (_transport as IDisposable)?.Dispose();
        _slots.Dispose();
        return base.DisposeAsync();
    }
}
