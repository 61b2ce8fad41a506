using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Strata.StepOperators;

/// <summary>
/// Runs the step entrypoint as a separate OS process in its own session, so cancelling kills the whole process tree.
/// The process writes its output and, when it ends, its exit code into its working directory, so status, logs and
/// cancel work from another process after a restart. A step is handed to a standby process when one of its kind is
/// ready (<see cref="StandbyProcesses"/>), so it does not wait for the runtime to start.
/// </summary>
internal sealed class LocalProcessStepOperator : StepOperator
{
    private static readonly TimeSpan LogPollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a step that began in a process still starting up runs before the next standby starts anyway.</summary>
    private static readonly TimeSpan StandbyRaceLimit = TimeSpan.FromSeconds(1);
    private static readonly string[] BaseVariables = ["PATH", "HOME", "USER", "TMPDIR", "LANG", "LC_ALL", "TZ"];

    private readonly LocalProcessStepOperatorConfig _config;
    private readonly string _root;
    private readonly JobSlots _slots;
    private readonly ConcurrentDictionary<string, (Process Process, Task Exited)> _started = new();

    private readonly TimeProvider _time;

    public LocalProcessStepOperator(LocalProcessStepOperatorConfig config, StrataHome home, TimeProvider time)
    {
        _config = config;
        _time = time;
        _root = config.WorkingDirectory ?? Path.Combine(home.Path, "steps");
        _slots = new JobSlots(config.MaxConcurrent > 0 ? config.MaxConcurrent : Environment.ProcessorCount);
    }

    public override async Task<StepJob> SubmitAsync(StepLaunch launch, CancellationToken cancellationToken = default)
    {
        var settings = (LocalProcessSettings)launch.Settings;
        var workDir = Path.Combine(_root, launch.StepRunId);
        await _slots.WaitAsync(launch.StepRunId, cancellationToken).ConfigureAwait(false);
        try
        {
            // A standby is started with its step's whole environment, so one serves only steps whose environment is
            // the same; nothing is set in its runtime after it started.
            var environment = ProcessEnvironment(launch, settings);
            // Step processes replay the JIT profile without recording one, but for a process started afresh now and then.
            var gatherProfile = !environment.ContainsKey(JitProfile.NoGatherVariable);
            if (gatherProfile) environment[JitProfile.NoGatherVariable] = "1";
            var standbyCommand = _config.Standby ? StrataEntrypoint.StandbyCommand(launch.Command, launch.ManifestUri) : null;
            var kind = standbyCommand is null ? null : Kind(standbyCommand, environment);

            Process process;
            var handedOff = false;
            if (kind is not null && !Directory.Exists(workDir)
                && StandbyProcesses.Take(kind) is { } standby && HandOff(standby, workDir, launch.ManifestUri))
            {
                process = standby.Process;
                handedOff = true;
            }
            else
            {
                Directory.CreateDirectory(workDir);
                var fresh = environment;
                if (gatherProfile && JitProfile.ClaimGather(string.Join('\0', launch.Command.SkipLast(1)), _time.GetUtcNow()))
                    fresh = new Dictionary<string, string>(environment.Where(e => e.Key != JitProfile.NoGatherVariable), StringComparer.Ordinal);
                process = Start(workDir, launch.Command, fresh, standby: false);
            }
            // Kept until cleanup: its exit, which comes right after the exit code file, tells a waiter the job ended.
            var exited = process.WaitForExitAsync(CancellationToken.None);
            if (kind is not null)
            {
                void StartNext() => StandbyProcesses.StartAhead(kind, _root, directory => Start(directory, standbyCommand!, environment, standby: true));
                // A step whose process is still starting up is not raced by the next standby's start-up: on a machine of few
                // cores that slows both. It starts when this step ends, or once this step has run a while.
                if (handedOff && File.Exists(Path.Combine(workDir, StrataEntrypoint.StandbyReadyFile))) StartNext();
                else _ = Task.WhenAny(exited, Task.Delay(StandbyRaceLimit, _time)).ContinueWith(_ => StartNext(), CancellationToken.None,
                    TaskContinuationOptions.None, TaskScheduler.Default);
            }

            var pid = process.Id.ToString(CultureInfo.InvariantCulture);
            _started[pid] = (process, exited);
            var data = new Dictionary<string, string>
            {
                ["pid"] = pid,
                ["start_time"] = StartTime(process.Id) ?? "",
                ["work_dir"] = workDir,
            };
            if (handedOff) data["standby"] = "true";
            return new StepJob(Name, pid, launch.StepRunId, data);
        }
        catch
        {
            _slots.Release(launch.StepRunId);
            throw;
        }
    }

    /// <summary>
    /// Starts <paramref name="command"/> in its own session in <paramref name="workDir"/> with exactly <paramref name="environment"/>.
    /// A standby keeps stdin, a pipe from this process, for its hand-off; a step started here gets none.
    /// </summary>
    private static Process Start(string workDir, IReadOnlyList<string> command, IEnumerable<KeyValuePair<string, string>> environment, bool standby)
    {
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = workDir, UseShellExecute = false, RedirectStandardInput = standby };
        // sh records the exit code after the command ends; "$@" passes the command without any quoting. It first lets go
        // of the standard streams it inherited, so a job that outlives this process never holds its console or pipes open.
        // The exit code is written by the shell itself (no mv to start): a reader that finds the file still empty waits for the shell to end.
        start.ArgumentList.Add("/bin/sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec {(standby ? "" : "</dev/null ")}>/dev/null 2>&1; \"$@\" >{JobDirectory.StdoutFile} 2>{JobDirectory.StderrFile}; echo " +
            $"$? >{JobDirectory.ExitCodeFile}");
        start.ArgumentList.Add("strata-step");
        foreach (var part in command) start.ArgumentList.Add(part);
        start.Environment.Clear();
        foreach (var (k, v) in environment) start.Environment[k] = v;
        return Process.Start(start) ?? throw new InvalidOperationException("setsid did not start");
    }

    /// <summary>
    /// Gives a standby its step: its directory becomes the step's working directory (its output files move with it), and
    /// the manifest goes down its stdin. False when it cannot take it; the step then starts afresh.
    /// </summary>
    private static bool HandOff(StandbyProcess standby, string workDir, string manifestUri)
    {
        try
        {
            Directory.Move(standby.Directory, workDir);
        }
        catch (IOException)
        {
            standby.LetGo();
            return false;
        }
        try
        {
            standby.Process.StandardInput.BaseStream.Write(new StepHandoff(manifestUri).ToJson());
            standby.Process.StandardInput.Close();
            return true;
        }
        catch (IOException)
        {
            // It ended just now, before reading a thing.
            standby.Process.Dispose();
            try { Directory.Delete(workDir, recursive: true); } catch (IOException) { }
            return false;
        }
    }

    /// <summary>
    /// The step process's whole environment: this process's (or only the base variables and DOTNET_*), then the launch's
    /// variables, the settings' and the secrets, later ones winning.
    /// </summary>
    private static Dictionary<string, string> ProcessEnvironment(StepLaunch launch, LocalProcessSettings settings)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            var name = (string)e.Key;
            if (settings.InheritEnvironment || BaseVariables.Contains(name) || name.StartsWith("DOTNET_", StringComparison.Ordinal))
                environment[name] = (string?)e.Value ?? "";
        }
        foreach (var (k, v) in launch.Environment) environment[k] = v;
        foreach (var (k, v) in settings.Environment ?? []) environment[k] = v;
        foreach (var (k, v) in launch.Secrets) environment[k] = v;
        return environment;
    }

    /// <summary>
    /// Standbys are interchangeable when they share the root, the command and the whole environment. A hash of them: the
    /// environment holds secret values, which are not kept in memory longer than needed.
    /// </summary>
    private string Kind(IReadOnlyList<string> command, Dictionary<string, string> environment)
    {
        var parts = new[] { _root }.Concat(command).Concat(environment.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));
        return ContentHasher.HashBytes(System.Text.Encoding.UTF8.GetBytes(string.Join('\0', parts)));
    }

    public override Task<StepJobStatus> GetStatusAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        var files = Files(job);
        if (files.HasExitCodeFile)
        {
            // An empty file: created, not yet written, the shell is between the two. Once it has ended, the file is whole.
            var code = files.ReadExitCode();
            if (code is null && IsAlive(job)) return Task.FromResult(new StepJobStatus(StepJobState.Running));
            code ??= files.ReadExitCode();
            if (code is null)
                return Task.FromResult(new StepJobStatus(StepJobState.Failed,
                    $"the step process {job.JobId} left an unreadable exit code file {files.ExitCode}{files.StderrTail()}"));
            if (files.IsCancelled) return Task.FromResult(new StepJobStatus(StepJobState.Cancelled, "cancelled", code));
            return Task.FromResult(code == 0
                ? new StepJobStatus(StepJobState.Succeeded, null, 0)
                : new StepJobStatus(StepJobState.Failed, $"the step process exited with code {code}{files.StderrTail()}", code));
        }
        if (IsAlive(job)) return Task.FromResult(new StepJobStatus(StepJobState.Running));
        // The session leader died without writing its exit code: it was killed.
        return Task.FromResult(files.IsCancelled
            ? new StepJobStatus(StepJobState.Cancelled, "cancelled")
            : new StepJobStatus(StepJobState.Failed, $"the step process {job.JobId} ended without an exit code (killed?){files.StderrTail()}"));
    }

    public override async Task CancelAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        await Files(job).MarkCancelledAsync().ConfigureAwait(false);
        if (!IsAlive(job)) return;
        // The step runs in its own session and process group (setsid): signal the whole group, then force it.
        await SignalGroupAsync(job.JobId, "TERM").ConfigureAwait(false);
        for (var i = 0; i < 50 && IsAlive(job); i++) await Task.Delay(TimeSpan.FromMilliseconds(100), _time, CancellationToken.None).ConfigureAwait(false);
        await SignalGroupAsync(job.JobId, "KILL").ConfigureAwait(false);
    }

    public override Task CleanupAsync(StepJob job, CancellationToken cancellationToken = default)
    {
        _slots.Release(job.StepRunId);
        if (_started.TryRemove(job.JobId, out var started)) started.Process.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Returns as soon as the job's process exits, if this operator started it, or after <paramref name="delay"/>. An exit
    /// seen before is not news (a cancelled job's step may still be finishing), nor can a job from before a restart be
    /// watched: both wait the whole delay.
    /// </summary>
    public override async Task WaitForChangeAsync(StepJob job, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken = default)
    {
        if (!_started.TryGetValue(job.JobId, out var started) || started.Exited.IsCompleted)
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            return;
        }
        await started.Exited.WaitAsync(delay, time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    public override async IAsyncEnumerable<string> StreamLogsAsync(StepJob job, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var files = Files(job);
        var followers = files.FollowOutput();
        while (true)
        {
            var finished = files.HasExitCodeFile || !IsAlive(job);
            foreach (var follower in followers)
                foreach (var line in follower.ReadNewLines(final: finished))
                    yield return line;
            if (finished) yield break;
            try { await WaitForChangeAsync(job, LogPollInterval, _time, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { yield break; }
        }
    }

    private static JobDirectory Files(StepJob job) => new(job.Data["work_dir"]);

    /// <summary>Lets go of the processes this operator started. Their jobs go on; standbys stay for the next run in this process.</summary>
    public override ValueTask DisposeAsync()
    {
        foreach (var (_, started) in _started) started.Process.Dispose();
        _started.Clear();
        _slots.Dispose();
        return base.DisposeAsync();
    }

    /// <summary>
    /// Whether any process of the job is alive: its session leader (the wrapper shell), or, once that is gone (a TERM
    /// kills the shell at once), anything left in its process group, such as the step process finishing up.
    /// </summary>
    private static bool IsAlive(StepJob job)
    {
        var pid = int.Parse(job.JobId, CultureInfo.InvariantCulture);
        var start = StartTime(pid, out var state);
        if (start is not null && start != job.Data.GetValueOrDefault("start_time"))
            return false; // the pid was reused, which Linux does only once no process group of that id is left
        if (start is not null && state != 'Z') return true;
        return GroupHasLivingProcess(pid);
    }

    /// <summary>Whether a process that has not ended belongs to process group <paramref name="group"/> (field 5 of /proc/PID/stat).</summary>
    private static bool GroupHasLivingProcess(int group)
    {
        var id = group.ToString(CultureInfo.InvariantCulture);
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!char.IsAsciiDigit(Path.GetFileName(dir)[0])) continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[2] == id && fields[0] != "Z") return true;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return false;
    }

    private static string? StartTime(int pid) => StartTime(pid, out _);

    /// <summary>The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), and its state.</summary>
    private static string? StartTime(int pid, out char state)
    {
        state = '?';
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            state = fields[0][0];
            return fields[19];
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    private static async Task SignalGroupAsync(string pid, string signal)
    {
        var kill = new ProcessStartInfo("kill") { RedirectStandardError = true, UseShellExecute = false };
        kill.ArgumentList.Add($"-{signal}");
        kill.ArgumentList.Add("--");
        kill.ArgumentList.Add($"-{pid}");
        using var process = Process.Start(kill)!;
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
