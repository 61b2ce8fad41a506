using System.ComponentModel;

namespace Strata.Slurm;

/// <summary>How a <c>slurm</c> step operator talks to its cluster.</summary>
public enum SlurmTransportKind
{
    /// <summary>The Slurm commands on this host: sbatch, squeue, scontrol, scancel.</summary>
    Cli,
    /// <summary>slurmrestd's REST API (v0.0.38, Slurm 22.05) over TCP with a JWT, or over its unix socket.</summary>
    Rest,
}

/// <summary>
/// Per-step settings of the <c>slurm</c> step operator. The component's config gives the defaults; a step overrides them
/// (<c>p.Step(...).WithSettings(new SlurmStepOperatorSettings { Partition = "gpu" })</c>, or a run config file).
/// </summary>
public class SlurmStepOperatorSettings : StepOperatorSettings
{
    [Description("Slurm partition (sbatch --partition); default: the cluster's default partition.")]
    public string? Partition { get; set; }

    [Description("Account charged for the job (sbatch --account).")]
    public string? Account { get; set; }

    [Description("Quality of service (sbatch --qos).")]
    public string? Qos { get; set; }

    [Description("Wall-clock limit (sbatch --time, whole minutes, e.g. 2h or 02:00:00). The step's timeout wins when one is set.")]
    public TimeSpan? TimeLimit { get; set; }

    [Description("Number of nodes (sbatch --nodes).")]
    public int? Nodes { get; set; }

    [Description("Number of tasks (sbatch --ntasks).")]
    public int? Ntasks { get; set; }

    [Description("More sbatch options, comma-separated, each '--name' or '--name=value' without spaces or shell characters (e.g. " +
        "--constraint=a100,--exclusive). Options Strata sets itself are refused.")]
    public List<string>? ExtraSbatchOptions { get; set; }

    [Description("Shell lines run in the job before the step, comma-separated (e.g. 'module load dotnet/10'). Runs in the step's directory with the step's " +
        "environment.")]
    public List<string>? Setup { get; set; }

    [Description("Wraps the step's command for clusters that run jobs in containers; {command} is replaced by the quoted command (e.g. 'apptainer exec " +
        "--bind /shared /images/app.sif {command}').")]
    public string? ContainerCommand { get; set; }

    [Description("Submit the job held (sbatch --hold): it waits, pending with reason JobHeldUser, until released with `scontrol release JOBID`.")]
    public bool Hold { get; set; }
}

/// <summary>Config of a <c>slurm</c> step operator: its settings' defaults plus how to reach the cluster and where jobs work.</summary>
public sealed class SlurmStepOperatorConfig : SlurmStepOperatorSettings
{
    [Description("How to talk to Slurm: cli (sbatch, squeue, scontrol, scancel on this host) or rest (slurmrestd).")]
    public SlurmTransportKind Transport { get; set; } = SlurmTransportKind.Cli;

    [Description("A directory on a filesystem shared with the compute nodes, at the same path there: each step gets its job script, environment file, output " +
        "and exit code in a directory under it.")]
    public required string WorkDir { get; set; }

    [Description("slurm.conf for the Slurm commands (SLURM_CONF); default: the environment's or Slurm's own.")]
    public string? SlurmConf { get; set; }

    [Description("Directory holding sbatch, squeue, scontrol and scancel; default: found on PATH.")]
    public string? SlurmBinDir { get; set; }

    [Description("slurmrestd endpoint for transport=rest, e.g. http://slurm-head:6820 (JWT auth: needs token).")]
    public string? RestUrl { get; set; }

    [Description("slurmrestd unix socket for transport=rest, instead of rest_url (local auth; the token is optional).")]
    public string? RestSocket { get; set; }

    [Description("User the REST requests and the jobs run as (X-SLURM-USER-NAME); default: the user running Strata. Jobs must be able to read the work " +
        "directory's files, which Strata creates for this user only.")]
    public string? UserName { get; set; }

    [Secret]
    [Description("Slurm JWT for transport=rest (scontrol token username=USER lifespan=SECONDS); give it as a secret reference, e.g. {{slurm.token}}.")]
    public string? Token { get; set; }

    [Description("How many of this operator's jobs may be in Slurm at once (submitted and not finished); 0 means no limit. Steps over the limit wait before " +
        "sbatch.")]
    public int MaxJobs { get; set; }

    [Description("Submit steps that become ready together and share their step, settings and resources as one Slurm job array (sbatch --array), one " +
        "task per step, split at the cluster's MaxArraySize. Each task runs its own step and is followed, cancelled and retried on its own. Off, or with " +
        "max_jobs set: one job per step.")]
    public bool JobArrays { get; set; } = true;

    [Description("How long ready steps are gathered into one job array: until none has come for this long (at most ten times this long), or " +
        "until every step the run has ready has come.")]
    public TimeSpan ArrayWindow { get; set; } = TimeSpan.FromMilliseconds(100);
}
