using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Strata.Slurm;

/// <summary>Where the Slurm commands are and which cluster they talk to.</summary>
internal sealed record SlurmCliOptions
{
    /// <summary>slurm.conf for the commands (SLURM_CONF); null keeps the environment's or Slurm's default.</summary>
    public string? SlurmConf { get; init; }

    /// <summary>Directory holding sbatch, squeue, scontrol and scancel; null finds them on PATH.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>How long one command may take before it is killed and reported.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Talks to Slurm through its commands on this host: <c>sbatch --parsable</c> with the script in a private temporary
/// file, <c>scontrol show job -o</c>, <c>squeue -O</c> and <c>scancel</c>. Arguments go to the process directly (no
/// shell); the job's environment goes through sbatch's own environment (<c>--export=ALL</c>), never its command line.
/// </summary>
internal sealed partial class SlurmCliTransport(SlurmCliOptions? options = null) : ISlurmTransport
{
    private readonly SlurmCliOptions _options = options ?? new SlurmCliOptions();

    public async Task<string> SubmitAsync(SlurmJobSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        var dir = Directory.CreateTempSubdirectory("strata-sbatch-"); // 0700: the script may hold more than it should
        try
        {
            var script = Path.Combine(dir.FullName, "job.sh");
            await File.WriteAllTextAsync(script, spec.ScriptWithShebang, cancellationToken).ConfigureAwait(false);
            var args = SbatchArguments(spec);
            args.Add(script);
            var result = await RunAsync("sbatch", args, spec.Environment, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode != 0)
                throw Failure("sbatch", result, $"Slurm did not accept job '{spec.Name}'");
            var id = result.Stdout.Trim().Split(';')[0].Trim();
            if (!id.All(char.IsAsciiDigit) || id.Length == 0)
                throw new SlurmException(SlurmErrorKind.Protocol, $"sbatch --parsable printed '{result.Stdout.Trim()}' instead of a job id.");
            return id;
        }
        finally
        {
            try { dir.Delete(recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>The sbatch arguments for <paramref name="spec"/>, without the script path.</summary>
    internal static List<string> SbatchArguments(SlurmJobSpec spec)
    {
        var args = new List<string> { "--parsable", $"--job-name={spec.Name}" };
        if (spec.Partition is { } p) args.Add($"--partition={p}");
        if (spec.Account is { } a) args.Add($"--account={a}");
        if (spec.Qos is { } q) args.Add($"--qos={q}");
        if (spec.TimeLimitMinutes is { } t) args.Add(FormattableString.Invariant($"--time={t}"));
        if (spec.Nodes is { } n) args.Add(FormattableString.Invariant($"--nodes={n}"));
        if (spec.Tasks is { } nt) args.Add(FormattableString.Invariant($"--ntasks={nt}"));
        if (spec.CpusPerTask is { } c) args.Add(FormattableString.Invariant($"--cpus-per-task={c}"));
        if (spec.MemoryMiB is { } m) args.Add(FormattableString.Invariant($"--mem={m}M"));
        if (spec.Gres is { } g) args.Add($"--gres={g}");
        // sbatch reads --begin in this host's local time.
        if (spec.BeginTime is { } b) args.Add("--begin=" + b.ToLocalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));
        if (spec.Hold) args.Add("--hold");
        if (spec.ArrayRange is { } array) args.Add($"--array={array}");
        if (spec.WorkingDirectory is { } d) args.Add($"--chdir={d}");
        if (spec.StandardOutput is { } o) args.Add($"--output={o}");
        if (spec.StandardError is { } e) args.Add($"--error={e}");
        args.Add("--export=ALL");
        args.AddRange(spec.ExtraOptions);
        return args;
    }

    public async Task<SlurmJobState?> GetJobAsync(string jobId, CancellationToken cancellationToken = default)
    {
        SlurmJobIds.Check(jobId);
        var result = await RunAsync("scontrol", ["show", "job", "-o", jobId], null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            if (IsUnknownJob(result.Stderr)) return null;
            throw Failure("scontrol", result, $"Cannot read Slurm job {jobId}");
        }
        var line = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (line is null) return null;
        // A pending array task is shown as its array's record (ArrayTaskId=3-9): it is the task asked for.
        return ParseScontrolJob(line) is { } state ? state with { JobId = jobId }
            : throw new SlurmException(SlurmErrorKind.Protocol, $"scontrol show job printed no JobState for job {jobId}: {line}");
    }

    public async Task<IReadOnlyDictionary<string, SlurmJobState>> GetJobsAsync(IReadOnlyCollection<string> jobIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        foreach (var id in jobIds) SlurmJobIds.Check(id);
        if (jobIds.Count == 0) return new Dictionary<string, SlurmJobState>();
        // One squeue for all of them; -t all keeps finished jobs (until MinJobAge). exit_code is a raw wait status here.
        var result = await RunAsync("squeue", ["--noheader", "--states=all", "--array", $"--jobs={string.Join(',', jobIds)}", SqueueFormat],
            null, cancellationToken).ConfigureAwait(false);
        // squeue fails for a single unknown job id, and leaves unknown ones out when asked for several.
        if (result.ExitCode != 0 && !IsUnknownJob(result.Stderr)) throw Failure("squeue", result, $"Cannot read Slurm jobs {string.Join(", ", jobIds)}");
        var wanted = jobIds.ToHashSet(StringComparer.Ordinal);
        var states = new Dictionary<string, SlurmJobState>(StringComparer.Ordinal);
        foreach (var state in ParseSqueue(result.ExitCode == 0 ? result.Stdout : ""))
            if (wanted.Contains(state.JobId)) states[state.JobId] = state;
        return states;
    }

    /// <summary>One line of <c>scontrol show job -o</c> (KEY=value pairs; values may contain spaces).</summary>
    internal static SlurmJobState? ParseScontrolJob(string line)
    {
        var fields = ParseKeyValues(line);
        if (!fields.TryGetValue("JobId", out var id) || !fields.TryGetValue("JobState", out var state)) return null;
        id = SlurmJobIds.Of(id, fields.GetValueOrDefault("ArrayJobId"), fields.GetValueOrDefault("ArrayTaskId"));
        fields.TryGetValue("JobName", out var name);
        fields.TryGetValue("Reason", out var reason);
        fields.TryGetValue("ExitCode", out var exit);
        return SlurmJobState.Create(id, name, state, reason, SlurmExitStatus.ParseScontrol(exit));
    }

    internal static Dictionary<string, string> ParseKeyValues(string line)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = KeyPattern().Matches(line);
        for (var i = 0; i < keys.Count; i++)
        {
            var start = keys[i].Index + keys[i].Length;
            var end = i + 1 < keys.Count ? keys[i + 1].Index : line.Length;
            fields.TryAdd(keys[i].Groups[1].Value, line[start..end].Trim());
        }
        return fields;
    }

    [GeneratedRegex(@"(?<=^|\s)([A-Za-z][A-Za-z0-9/:_]*)=")]
    private static partial Regex KeyPattern();

    public async Task<IReadOnlyList<SlurmJobState>> FindJobsByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!SlurmJobName.IsValid(name))
            throw new SlurmException(SlurmErrorKind.InvalidSpec, $"'{name}' is not a job name Strata submits (letters, digits, '-', '_', '.').");
        // -t all: finished jobs too, while Slurm keeps them (MinJobAge). exit_code is a raw wait status here.
        var result = await RunAsync("squeue", ["--noheader", "--states=all", "--array", $"--name={name}", SqueueFormat],
            null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw Failure("squeue", result, $"Cannot list Slurm jobs named '{name}'");
        return ParseSqueue(result.Stdout).Where(j => j.Name == name).OrderBy(j => SlurmJobIds.SortKey(j.JobId)).ToList();
    }

    /// <summary>The squeue columns read: an array task (one line each with --array) goes by ARRAYJOBID_TASKID.</summary>
    private const string SqueueFormat = "--Format=JobID:|,ArrayJobID:|,ArrayTaskID:|,Name:|,State:|,Reason:|,exit_code:|";

    public async Task<int?> GetMaxArraySizeAsync(CancellationToken cancellationToken = default)
    {
        var result = await RunAsync("scontrol", ["show", "config"], null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0) throw Failure("scontrol", result, "Cannot read the Slurm configuration");
        return ParseMaxArraySize(result.Stdout);
    }

    /// <summary>MaxArraySize from <c>scontrol show config</c>, or null when it is not there.</summary>
    internal static int? ParseMaxArraySize(string config)
    {
        foreach (var line in config.Split('\n'))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0 && line[..eq].Trim() == "MaxArraySize"
                && int.TryParse(line[(eq + 1)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size)) return size;
        }
        return null;
    }

    /// <summary>Lines of <see cref="SqueueFormat"/> (with <c>--array</c>: one line per array task).</summary>
    internal static IEnumerable<SlurmJobState> ParseSqueue(string output)
    {
        foreach (var raw in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = raw.Trim().Split('|').Select(p => p.Trim()).ToArray();
            if (parts.Length < 7 || !parts[0].All(char.IsAsciiDigit)) continue; // het job entries are not ours
            _ = long.TryParse(parts[6], NumberStyles.Integer, CultureInfo.InvariantCulture, out var wait);
            yield return SlurmJobState.Create(SlurmJobIds.Of(parts[0], parts[1], parts[2]), parts[3], parts[4], parts[5], SlurmExitStatus.FromWaitStatus(wait));
        }
    }

    public async Task CancelAsync(string jobId, CancellationToken cancellationToken = default)
    {
        SlurmJobIds.Check(jobId);
        var result = await RunAsync("scancel", [jobId], null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0 && !IsUnknownJob(result.Stderr)
            && !result.Stderr.Contains("already completing or completed", StringComparison.OrdinalIgnoreCase))
            throw Failure("scancel", result, $"Cannot cancel Slurm job {jobId}");
    }

    private static bool IsUnknownJob(string stderr) => stderr.Contains("Invalid job id specified", StringComparison.OrdinalIgnoreCase);

    private static SlurmException Failure(string command, CommandResult result, string what)
    {
        var message = result.Stderr.Trim();
        if (message.Length == 0) message = result.Stdout.Trim();
        var kind = message.Contains("Unable to contact slurm controller", StringComparison.OrdinalIgnoreCase)
                   || message.Contains("Could not establish a configuration source", StringComparison.OrdinalIgnoreCase)
                   || message.Contains("Zero Bytes were transmitted", StringComparison.OrdinalIgnoreCase)
            ? SlurmErrorKind.Unavailable
            : SlurmErrorKind.Rejected;
        return new SlurmException(kind, $"{what}: {command} exited with {result.ExitCode}: {message}");
    }

    internal readonly record struct CommandResult(int ExitCode, string Stdout, string Stderr);

    private async Task<CommandResult> RunAsync(
        string command, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        var path = _options.BinDirectory is { } bin ? Path.Combine(bin, command) : command;
        var psi = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        // SBATCH_* variables would silently change what sbatch submits: only the spec decides.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("SBATCH_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        if (_options.SlurmConf is { } conf) psi.Environment["SLURM_CONF"] = conf;
        if (environment is not null)
            foreach (var (key, value) in environment) psi.Environment[key] = value;

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new SlurmException(SlurmErrorKind.Unavailable,
                $"Cannot run '{path}': {e.Message}. Install the Slurm commands (Debian: slurm-client) or set the Slurm bin directory.", e);
        }
        process.StandardInput.Close();
        // A command that hangs hangs in real time: this limit is on the system clock.
        using var limit = new CancellationTokenSource(_options.CommandTimeout, TimeProvider.System);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            cancellationToken.ThrowIfCancellationRequested();
            throw new SlurmException(SlurmErrorKind.Unavailable,
                $"'{command}' did not finish within {_options.CommandTimeout.TotalSeconds:0} s; is slurmctld reachable?");
        }
    }
}
