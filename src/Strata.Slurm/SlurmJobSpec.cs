using System.Globalization;

namespace Strata.Slurm;

/// <summary>
/// One batch job to submit. Both transports express every property; <see cref="ExtraOptions"/> are extra
/// <c>sbatch</c> options in the long form <c>--name</c> or <c>--name=value</c>, which the CLI transport passes
/// as they are and the REST transport maps to job fields (see <see cref="SlurmRestTransport.SupportedExtraOptions"/>).
/// <see cref="Environment"/> reaches the job without ever appearing on a command line.
/// </summary>
internal sealed record SlurmJobSpec
{
    /// <summary>The job name (<c>--job-name</c>); see <see cref="StepJobNames.For"/>.</summary>
    public required string Name { get; init; }

    /// <summary>The batch script. A script without a <c>#!</c> line runs with <c>/bin/bash</c>.</summary>
    public required string Script { get; init; }

    public string? Partition { get; init; }
    public string? Account { get; init; }
    public string? Qos { get; init; }

    /// <summary>Wall-clock limit (<c>--time</c>); Slurm counts whole minutes, so it is rounded up.</summary>
    public TimeSpan? TimeLimit { get; init; }

    public int? Nodes { get; init; }

    /// <summary><c>--ntasks</c>.</summary>
    public int? Tasks { get; init; }

    public int? CpusPerTask { get; init; }

    /// <summary>Memory per node in MiB (<c>--mem=&lt;n&gt;M</c>).</summary>
    public long? MemoryMiB { get; init; }

    /// <summary>Generic resources per node, e.g. <c>gpu:1</c> (<c>--gres</c>).</summary>
    public string? Gres { get; init; }

    /// <summary>Do not start before this time (<c>--begin</c>); the job stays PENDING with reason BeginTime until then.</summary>
    public DateTimeOffset? BeginTime { get; init; }

    /// <summary>Submit held (<c>--hold</c>): PENDING with reason JobHeldUser until released.</summary>
    public bool Hold { get; init; }

    /// <summary>Absolute working directory on the compute node (<c>--chdir</c>).</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Absolute path (Slurm patterns such as %j allowed) for standard output (<c>--output</c>).</summary>
    public string? StandardOutput { get; init; }

    /// <summary>Absolute path for standard error (<c>--error</c>); by default it goes with standard output.</summary>
    public string? StandardError { get; init; }

    /// <summary>
    /// Makes the job a job array of task ids <c>0</c> to <c>N-1</c> (<c>--array=0-N-1</c>): one submission, one array job id,
    /// one task per id, each a job of its own in Slurm (<c>ARRAYJOBID_TASKID</c>). Null or 0: a plain job.
    /// </summary>
    public int? ArrayTasks { get; init; }

    /// <summary>The <c>--array</c> value for <see cref="ArrayTasks"/>, e.g. <c>0-99</c>.</summary>
    public string? ArrayRange => ArrayTasks is > 0 and var n ? string.Create(CultureInfo.InvariantCulture, $"0-{n - 1}") : null;

    /// <summary>Variables set in the job's environment (secrets allowed: never put on a command line).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Extra sbatch options, each <c>--name</c> or <c>--name=value</c>; see <see cref="SlurmExtraOptions"/>.</summary>
    public IReadOnlyList<string> ExtraOptions { get; init; } = [];

    /// <summary>The script as submitted: given a <c>#!/bin/bash</c> line when it has none.</summary>
    public string ScriptWithShebang => Script.StartsWith("#!", StringComparison.Ordinal) ? Script : "#!/bin/bash\n" + Script;

    /// <summary>Wall-clock limit in whole minutes, rounded up (at least 1).</summary>
    public int? TimeLimitMinutes => TimeLimit is { } t ? (int)Math.Max(1, Math.Ceiling(t.TotalMinutes)) : null;

    /// <summary>Checks everything that can be checked before talking to Slurm; throws <see cref="SlurmException"/> listing every problem.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (!SlurmJobName.IsValid(Name))
            problems.Add($"job name '{Name}' must be 1-200 letters, digits, '-', '_' or '.'");
        if (string.IsNullOrWhiteSpace(Script)) problems.Add("the script is empty");
        else if (Script.Contains('\0', StringComparison.Ordinal)) problems.Add("the script contains a NUL character");
        Word(problems, "partition", Partition);
        Word(problems, "account", Account);
        Word(problems, "qos", Qos);
        Word(problems, "gres", Gres);
        if (TimeLimit is { } t && t <= TimeSpan.Zero) problems.Add($"time limit {t} must be positive");
        Positive(problems, "nodes", Nodes);
        Positive(problems, "tasks", Tasks);
        Positive(problems, "cpus per task", CpusPerTask);
        if (ArrayTasks is < 0) problems.Add($"array tasks {ArrayTasks} must be positive");
        if (MemoryMiB is { } m && m <= 0) problems.Add($"memory {m} MiB must be positive");
        AbsolutePath(problems, "working directory", WorkingDirectory);
        AbsolutePath(problems, "standard output", StandardOutput);
        AbsolutePath(problems, "standard error", StandardError);
        foreach (var (key, value) in Environment)
        {
            if (!IsEnvironmentName(key)) problems.Add($"environment variable name '{key}' must be letters, digits and '_', not starting with a digit");
            else if (key.StartsWith("SLURM_", StringComparison.Ordinal) || key.StartsWith("SBATCH_", StringComparison.Ordinal))
                problems.Add($"environment variable {key} belongs to Slurm (SLURM_* and SBATCH_* are set or read by Slurm itself)");
            if (value.Contains('\0', StringComparison.Ordinal)) problems.Add($"environment variable {key} contains a NUL character");
        }
        problems.AddRange(SlurmExtraOptions.Problems(ExtraOptions));
        if (problems.Count > 0)
            throw new SlurmException(SlurmErrorKind.InvalidSpec,
                $"Slurm job '{Name}' is not valid:{System.Environment.NewLine}  - " + string.Join(System.Environment.NewLine + "  - ", problems));
    }

    internal static bool IsEnvironmentName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static void Word(List<string> problems, string what, string? value)
    {
        if (value is null) return;
        if (value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || SlurmExtraOptions.ShellMetacharacters.Contains(c)))
            problems.Add($"{what} '{value}' must be a single word without spaces or shell metacharacters");
    }

    private static void Positive(List<string> problems, string what, int? value)
    {
        if (value is <= 0) problems.Add($"{what} {value} must be positive");
    }

    private static void AbsolutePath(List<string> problems, string what, string? path)
    {
        if (path is null) return;
        if (!path.StartsWith('/')) problems.Add($"{what} '{path}' must be an absolute path");
        if (path.Any(char.IsControl)) problems.Add($"{what} path contains a newline or control character");
    }
}

/// <summary>Checks the extra sbatch options a user may add to what Strata sets itself.</summary>
internal static class SlurmExtraOptions
{
    /// <summary>Characters a shell would interpret; none may appear in an option (brackets are allowed for host lists).</summary>
    public const string ShellMetacharacters = ";&|$`<>(){}\\'\"!*?~#";

    /// <summary>The options Strata sets from <see cref="SlurmJobSpec"/> or needs to control itself.</summary>
    public static readonly IReadOnlyList<string> Reserved =
    [
        "job-name", "partition", "account", "qos", "time", "nodes", "ntasks", "cpus-per-task", "mem", "gres", "begin",
        "hold", "chdir", "output", "error", "export", "export-file", "parsable", "wrap", "wait", "test-only", "array",
        "input", "help", "usage", "version",
    ];

    /// <summary>Splits <c>--name=value</c> into name and value (null for a flag).</summary>
    public static (string Name, string? Value) Split(string option)
    {
        var body = option[2..];
        var eq = body.IndexOf('=', StringComparison.Ordinal);
        return eq < 0 ? (body, null) : (body[..eq], body[(eq + 1)..]);
    }

    public static IEnumerable<string> Problems(IEnumerable<string> options)
    {
        foreach (var option in options)
        {
            if (option is null) { yield return "an extra option is null"; continue; }
            if (option.Any(c => char.IsControl(c)))
            {
                yield return $"extra option '{option.ReplaceLineEndings(" ")}' contains a newline or control character";
                continue;
            }
            if (option.Any(char.IsWhiteSpace))
            {
                yield return $"extra option '{option}' contains a space: give each option as one '--name=value' item";
                continue;
            }
            if (option.FirstOrDefault(ShellMetacharacters.Contains) is var bad && bad != default)
            {
                yield return $"extra option '{option}' contains the shell metacharacter '{bad}'";
                continue;
            }
            if (!option.StartsWith("--", StringComparison.Ordinal) || option.Length < 3 || !char.IsAsciiLetterLower(option[2]))
            {
                yield return $"extra option '{option}' must be a long option: '--name' or '--name=value'";
                continue;
            }
            var (name, _) = Split(option);
            if (!name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                yield return $"extra option '{option}' has an invalid name";
                continue;
            }
            // sbatch accepts any unambiguous prefix of a long option (--part means --partition), so a prefix is reserved too.
            if (Reserved.FirstOrDefault(r => r.StartsWith(name, StringComparison.Ordinal)) is { } reserved)
                yield return $"extra option '{option}' sets --{reserved}, which Strata sets itself: use the matching job setting instead";
        }
    }
}
