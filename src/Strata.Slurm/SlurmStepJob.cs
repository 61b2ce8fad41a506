using System.Globalization;
using System.Text;

namespace Strata.Slurm;

/// <summary>
/// The files of one step's Slurm job in its directory under the work directory, and how they are written: the batch
/// script (no secrets), the environment file it sources (the step's environment and secrets, 0600, removed when the step
/// ends), the job's standard output and error, the exit code the script records, and the marker a cancel leaves.
/// </summary>
internal static class SlurmStepJob
{
    public const string ScriptFile = "job.sh";
    public const string EnvironmentFile = "env.sh";
    public const string StdoutFile = JobDirectory.StdoutFile;
    public const string StderrFile = JobDirectory.StderrFile;
    public const string ExitCodeFile = JobDirectory.ExitCodeFile;
    public const string JobIdFile = "job_id";

    /// <summary>Slurm's own output file of each task of a job array, in the array's directory.</summary>
    public const string ArrayOutputPattern = "%A_%a.out";

    /// <summary>Exit code of the script when it cannot read its environment file (the step never started).</summary>
    public const int CannotStart = 3;

    public const string CommandPlaceholder = "{command}";

    /// <summary>The step's directory under <paramref name="workDir"/>: named after the step-run id, which is unique per attempt.</summary>
    public static string DirectoryFor(string workDir, string stepRunId)
    {
        var safe = new string(stepRunId.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.').ToArray()).TrimStart('.');
        if (safe.Length == 0) throw new SlurmException(SlurmErrorKind.InvalidSpec, $"Step-run id '{stepRunId}' cannot name a directory.");
        return Path.Combine(workDir, safe);
    }

    /// <summary>Everything about the settings that can be wrong before anything is written or sent, one line each.</summary>
    public static IEnumerable<string> Problems(SlurmStepOperatorSettings settings)
    {
        foreach (var problem in SlurmExtraOptions.Problems(settings.ExtraSbatchOptions ?? []))
            yield return problem;
        foreach (var line in settings.Setup ?? [])
            if (line.Any(char.IsControl))
                yield return $"setup line '{line.ReplaceLineEndings(" ")}' contains a newline or control character: give each line as its own item";
        if (settings.ContainerCommand is { } container)
        {
            if (container.Any(char.IsControl))
                yield return "container_command contains a newline or control character";
            var count = CountOf(container, CommandPlaceholder);
            if (count != 1)
                yield return $"container_command must contain {CommandPlaceholder} exactly once (where the step's command goes), e.g. 'apptainer exec " +
                    $"/images/app.sif {CommandPlaceholder}'; it contains it {count} times";
        }
        if (settings.Nodes is <= 0) yield return $"nodes {settings.Nodes} must be positive";
        if (settings.Ntasks is <= 0) yield return $"ntasks {settings.Ntasks} must be positive";
        if (settings.TimeLimit is { } t && t <= TimeSpan.Zero) yield return $"time_limit {t} must be positive";
    }

    /// <summary>The batch script: source the environment file, run the setup lines and the step's command, record its exit code.</summary>
    public static string Script(StepLaunch launch, SlurmStepOperatorSettings settings, string stepDir)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"# Strata step '{Comment(launch.StepName)}' of pipeline '{Comment(launch.Pipeline)}', run {Comment(launch.RunName)}, step run " +
            $"{Comment(launch.StepRunId)}, attempt {launch.Attempt}.\n");
        sb.Append("# Written by Strata. The step's environment, secrets included, is in env.sh beside this script (0600, removed when the step ends).\n");
        sb.Append(CultureInfo.InvariantCulture, $"cd {Quote(stepDir)} || exit {CannotStart}\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"if ! . ./{EnvironmentFile}; then printf 'strata: cannot read %s on %s: is the work directory shared with this node?\\n' " +
            $"{Quote(stepDir + "/" + EnvironmentFile)} \"$(hostname)\" >&2; exit {CannotStart}; fi\n");
        foreach (var line in settings.Setup ?? []) sb.Append(line).Append('\n');
        var command = string.Join(' ', launch.Command.Select(Quote));
        if (settings.ContainerCommand is { } container) command = container.Replace(CommandPlaceholder, command, StringComparison.Ordinal);
        sb.Append(command).Append('\n');
        // Finished jobs vanish from Slurm after MinJobAge and sacct is often missing: the exit code stays here.
        sb.Append("code=$?\n");
        sb.Append(CultureInfo.InvariantCulture, $"printf '%s\\n' \"$code\" > {ExitCodeFile}.tmp && mv -f {ExitCodeFile}.tmp {ExitCodeFile}\n");
        sb.Append("exit \"$code\"\n");
        return sb.ToString();
    }

    /// <summary>
    /// The script of a job array whose task N runs the step in <paramref name="stepDirs"/>[N]: its output goes to that step's
    /// directory, as a job of its own would have it, and the step's own script does the rest.
    /// </summary>
    public static string ArrayScript(StepLaunch first, IReadOnlyList<string> stepDirs)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"# Strata job array: {stepDirs.Count} runs of step '{Comment(first.StepName)}' of pipeline '{Comment(first.Pipeline)}', run " +
            $"{Comment(first.RunName)}. Task N runs the job.sh of the Nth step directory below.\n");
        sb.Append("case \"${SLURM_ARRAY_TASK_ID:-}\" in\n");
        for (var i = 0; i < stepDirs.Count; i++) sb.Append(CultureInfo.InvariantCulture, $"  {i}) dir={Quote(stepDirs[i])} ;;\n");
        sb.Append(CultureInfo.InvariantCulture,
            $"  *) printf 'strata: no step for array task %s\\n' \"${{SLURM_ARRAY_TASK_ID:-}}\" >&2; exit {CannotStart} ;;\n");
        sb.Append("esac\n");
        sb.Append(CultureInfo.InvariantCulture, $"exec >\"$dir/{StdoutFile}\" 2>\"$dir/{StderrFile}\" || exit {CannotStart}\n");
        sb.Append(CultureInfo.InvariantCulture, $"exec /bin/bash \"$dir/{ScriptFile}\"\n");
        return sb.ToString();
    }

    /// <summary>The environment file: one <c>export NAME='value'</c> per variable, the step's environment and then its secrets.</summary>
    public static string EnvironmentFileText(StepLaunch launch)
    {
        var sb = new StringBuilder();
        sb.Append("# The environment of a Strata step's Slurm job. It may hold secrets: keep it private.\n");
        foreach (var (name, value) in launch.Environment.Concat(launch.Secrets))
        {
            if (!SlurmJobSpec.IsEnvironmentName(name))
                throw new SlurmException(SlurmErrorKind.InvalidSpec,
                    $"Environment variable name '{name}' must be letters, digits and '_', not starting with a digit.");
            if (value.Contains('\0', StringComparison.Ordinal))
                throw new SlurmException(SlurmErrorKind.InvalidSpec, $"Environment variable {name} contains a NUL character.");
            sb.Append(CultureInfo.InvariantCulture, $"export {name}={Quote(value)}\n");
        }
        return sb.ToString();
    }

    /// <summary>The job to submit for a step: the script, the settings, the resources and the step's directory.</summary>
    public static SlurmJobSpec Spec(string name, string script, SlurmStepOperatorSettings settings, StepResources resources, TimeSpan? stepTimeout,
        string stepDir) => new()
    {
        Name = name,
        Script = script,
        Partition = settings.Partition,
        Account = settings.Account,
        Qos = settings.Qos,
        // The step's timeout wins; Slurm rounds up to whole minutes, so the orchestrator's own timeout comes first.
        TimeLimit = stepTimeout ?? settings.TimeLimit,
        Nodes = settings.Nodes,
        Tasks = settings.Ntasks,
        CpusPerTask = resources.Cpus is { } cpus ? (int)Math.Ceiling(cpus) : null,
        MemoryMiB = resources.MemoryMiB,
        Gres = Gres(resources),
        Hold = settings.Hold,
        WorkingDirectory = stepDir,
        StandardOutput = Path.Combine(stepDir, StdoutFile),
        StandardError = Path.Combine(stepDir, StderrFile),
        ExtraOptions = settings.ExtraSbatchOptions ?? [],
    };

    /// <summary><c>gpu:N</c>, or <c>gpu:TYPE:N</c> when a GPU type is given (one GPU when only the type is).</summary>
    public static string? Gres(StepResources resources)
    {
        if (resources.Gpus is null && resources.GpuType is null) return null;
        var count = resources.Gpus ?? 1;
        return resources.GpuType is { Length: > 0 } type
            ? string.Create(CultureInfo.InvariantCulture, $"gpu:{type}:{count}")
            : string.Create(CultureInfo.InvariantCulture, $"gpu:{count}");
    }

    /// <summary>A word for bash: single-quoted unless it is plainly safe.</summary>
    public static string Quote(string value)
    {
        if (value.Length > 0 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or ',' or '+' or '@' or '%'))
            return value;
        return "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    private static string Comment(string text) => new(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }
}
